"""One state change of one row: locked, checked, idempotent, audited in the same transaction.

Every app's transition services go through ``transition`` so that each edge is race-safe
(``select_for_update``), a repeated change is a no-op, and a wrong starting state raises a
DomainError a person can act on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from django.db import models, transaction
from django.utils.translation import gettext as _

from .audit import audit_record
from .errors import DomainError

M = TypeVar("M", bound=models.Model)


# Rows a transition found already in its target state (label, pk, status), while a caller
# watches (``noting_unchanged``): the admin's actions report them as unchanged, not as done.
_unchanged: ContextVar[set[tuple[str, Any, str]] | None] = ContextVar(
    "unchanged_transitions", default=None
)


@contextmanager
def noting_unchanged() -> Iterator[set[tuple[str, Any, str]]]:
    """Collect the rows whose transition was a no-op inside the block."""
    seen: set[tuple[str, Any, str]] = set()
    token = _unchanged.set(seen)
    try:
        yield seen
    finally:
        _unchanged.reset(token)


def already_in(obj: models.Model, seen: set[tuple[str, Any, str]]) -> str | None:
    """The status ``obj`` was found already in, if its transition was a no-op."""
    for label, pk, status in seen:
        if label == obj._meta.label and pk == obj.pk:
            return status
    return None


def status_label(model: type[models.Model], value: str) -> str:
    field = model._meta.get_field("status")
    return str(dict(field.choices).get(value, value))


def transition(
    obj: M,
    *,
    allowed_from: Iterable[str],
    to: str,
    actor: Any,
    action: str,
    verb: str,
    reason: str = "",
    data: dict[str, Any] | None = None,
    apply: Callable[[M], None] | None = None,
) -> tuple[M, bool]:
    """Move ``obj`` to status ``to`` if it is in one of ``allowed_from``.

    Returns ``(row, changed)``: the re-read row, and False when it was already in ``to``
    (nothing written). ``apply`` sets further fields on the locked row before it is saved and
    may raise DomainError to refuse. ``verb`` names the action for the error ("提交", "审核通过").
    """
    allowed = tuple(allowed_from)
    model = type(obj)
    with transaction.atomic():
        row = model._default_manager.select_for_update().get(pk=obj.pk)
        if row.status == to:
            seen = _unchanged.get()
            if seen is not None:
                seen.add((model._meta.label, row.pk, to))
            return row, False
        if row.status not in allowed:
            raise DomainError(
                _("当前状态为“%(current)s”，不能%(verb)s（仅“%(allowed)s”状态可以）。")
                % {
                    "current": status_label(model, row.status),
                    "verb": verb,
                    "allowed": "”、“".join(status_label(model, s) for s in allowed),
                },
                code="wrong_state",
            )
        from_state = row.status
        if apply is not None:
            apply(row)
        row.status = to
        row.save()
        audit_record(
            actor=actor,
            action=action,
            obj=row,
            from_state=from_state,
            to_state=to,
            reason=reason,
            data=data,
        )
    return row, True
