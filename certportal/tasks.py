"""Operational tasks of the platform itself."""

from celery import shared_task
from django.db import transaction

from .audit import audit_record


@shared_task(acks_late=True, soft_time_limit=20, time_limit=30)
def worker_ping(token: str) -> str:
    """Prove a worker is alive and writes to the database: records one audit event.

    Idempotent per token: a redelivered ping does not write a second event.
    """
    from .models import AuditEvent

    with transaction.atomic():
        seen = AuditEvent.objects.filter(action="certportal.worker.ping", data__token=token)
        if not seen.exists():
            audit_record(actor=None, action="certportal.worker.ping", data={"token": token})
    return token


@shared_task(acks_late=True, soft_time_limit=1740, time_limit=1800)
def remove_abandoned_partials() -> int:
    """Daily: delete the ``.partial-*`` files crashed writes left in MEDIA_ROOT."""
    from django.conf import settings

    from .storage import remove_abandoned_partials as remove

    return remove(settings.MEDIA_ROOT)
