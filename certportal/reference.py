"""Reference data on every deployment, without undoing what staff changed since.

``loaddata`` writes every row of a fixture over what the database holds: run at each start of
the production shape, it put back the pass marks and rules an authority had changed, cleared
the credit codes staff had filled in and reopened institutions they had closed.
``manage.py load_reference`` loads the same fixtures (``settings.REFERENCE_FIXTURES``) but adds
only the rows it has never loaded into this database, so a new database gets all of them, a
later release's new trades or authorities arrive, an existing row is left as the admin left it
and a row the admin deleted stays deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core import serializers
from django.core.management.base import CommandError
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction


def _fixture_files(label: str) -> list[Path]:
    """The JSON files named ``label`` in ``settings.FIXTURE_DIRS`` (where the reference is)."""
    found = [Path(d) / f"{label}.json" for d in settings.FIXTURE_DIRS]
    found = [path for path in found if path.is_file()]
    if not found:
        raise CommandError(f"找不到参考数据文件 {label}.json / fixture {label!r} not found")
    return found


@dataclass
class Loaded:
    added: int = 0
    kept: int = 0
    conflicts: list[str] = field(default_factory=list)


def load_missing_reference(fixtures=None, *, using: str = DEFAULT_DB_ALIAS) -> Loaded:
    """Insert the fixtures' rows the database has never had, all in one transaction.

    A row is loaded once (``ReferenceRow`` remembers it): present, it is left as staff edited
    it; deleted by staff since, it stays deleted. A new row that collides with one staff made
    under another key (an institution of the same name, a policy for the same authority) is
    not loaded, and reported, rather than stopping every later start."""
    from .models import ReferenceRow

    result = Loaded()
    models = set()
    with transaction.atomic(using=using):
        seen = set(ReferenceRow.objects.using(using).values_list("model", "key"))
        marks = []
        for label in fixtures or settings.REFERENCE_FIXTURES:
            for path in _fixture_files(label):
                with open(path, encoding="utf-8") as handle:
                    for item in serializers.deserialize("json", handle, using=using):
                        model = type(item.object)
                        key = (model._meta.label, str(item.object.pk))
                        if key in seen:
                            result.kept += 1
                            continue
                        seen.add(key)
                        marks.append(ReferenceRow(model=key[0], key=key[1]))
                        if model._default_manager.using(using).filter(pk=item.object.pk).exists():
                            result.kept += 1
                            continue
                        try:
                            with transaction.atomic(using=using):
                                item.save(using=using)
                        except IntegrityError:
                            result.conflicts.append(f"{key[0]} {key[1]} ({item.object})")
                            continue
                        models.add(model)
                        result.added += 1
        ReferenceRow.objects.using(using).bulk_create(marks)
        if models:
            # Rows came with their own primary keys: move the sequences past them (as
            # loaddata does), or the next row staff add would collide.
            connection = connections[using]
            statements = connection.ops.sequence_reset_sql(no_style(), sorted(models, key=str))
            with connection.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)
    return result
