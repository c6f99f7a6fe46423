"""Reference data on every deployment, without undoing what staff changed since.

``loaddata`` writes every row of a fixture over what the database holds: run at each start of
the production shape, it put back the pass marks and rules an authority had changed, cleared
the credit codes staff had filled in and reopened institutions they had closed.
``manage.py load_reference`` loads the same fixtures (``settings.REFERENCE_FIXTURES``) but adds
only the rows the database lacks (by primary key), so a new database gets all of them, a later
release's new trades or authorities arrive, and an existing row is left as the admin left it.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core import serializers
from django.core.management.base import CommandError
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, connections, transaction


def _fixture_files(label: str) -> list[Path]:
    """The JSON files named ``label`` in ``settings.FIXTURE_DIRS`` (where the reference is)."""
    found = [Path(d) / f"{label}.json" for d in settings.FIXTURE_DIRS]
    found = [path for path in found if path.is_file()]
    if not found:
        raise CommandError(f"找不到参考数据文件 {label}.json / fixture {label!r} not found")
    return found


def load_missing_reference(fixtures=None, *, using: str = DEFAULT_DB_ALIAS) -> tuple[int, int]:
    """Insert the fixtures' rows whose primary key is not in the database yet, all or none.
    Returns (added, kept)."""
    added = kept = 0
    models = set()
    with transaction.atomic(using=using):
        for label in fixtures or settings.REFERENCE_FIXTURES:
            for path in _fixture_files(label):
                with open(path, encoding="utf-8") as handle:
                    for item in serializers.deserialize("json", handle, using=using):
                        model = type(item.object)
                        if model._default_manager.using(using).filter(pk=item.object.pk).exists():
                            kept += 1
                            continue
                        item.save(using=using)
                        models.add(model)
                        added += 1
        if models:
            # Rows came with their own primary keys: move the sequences past them (as
            # loaddata does), or the next row staff add would collide.
            connection = connections[using]
            statements = connection.ops.sequence_reset_sql(no_style(), sorted(models, key=str))
            with connection.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)
    return added, kept
