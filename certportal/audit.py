"""The one way to record an audit event."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from .models import AuditEvent


def audit_event(
    *,
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    from_state: str = "",
    to_state: str = "",
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """An unsaved audit event: ``audit_record`` writes one, ``audit_record_many`` a batch.

    ``actor`` is a user or ``None`` (the system: tasks, commands). ``data`` must never hold a
    clear ID number; use masked values or blind indexes.
    """
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditEvent(
        actor=actor,
        action=action,
        content_type=ContentType.objects.get_for_model(obj) if obj is not None else None,
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        data=data or {},
    )


def audit_record(**fields: Any) -> AuditEvent:
    """Write one audit event (the arguments of ``audit_event``). Call inside the transaction
    of the change it records."""
    event = audit_event(**fields)
    event.save()
    return event


def audit_record_many(events: Iterable[AuditEvent]) -> list[AuditEvent]:
    """Write many events of ``audit_event`` in one statement, still one per change: for a
    batch of changes made in one transaction (call inside it)."""
    return AuditEvent.objects.bulk_create(list(events), batch_size=1000)
