from celery import shared_task
from django.db import OperationalError

# A render is idempotent: acknowledged only once done, handed out again if its worker dies,
# retried while the database is unreachable.
RENDER_DELIVERY = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "max_retries": 5,
}


@shared_task(**RENDER_DELIVERY, soft_time_limit=60, time_limit=90)
def render_certificate(certificate_pk: int) -> bool:
    """Render the certificate's current content if its PDF is missing or stale (idempotent)."""
    from .services import certificate_render

    return certificate_render(certificate_pk=certificate_pk) is not None


@shared_task(**RENDER_DELIVERY, soft_time_limit=240, time_limit=300)
def render_certificates(certificate_pks: list[int]) -> int:
    """Render a group of certificates in one transaction (a batch enqueues one message per
    group): idempotent as ``render_certificate``, so a redelivered or retried group skips the
    ones already rendered; one that cannot be rendered (a character no font has) is recorded
    on its row and does not stop the others. Returns how many were rendered."""
    from .services import certificate_render_many

    return certificate_render_many(certificate_pks=certificate_pks)


@shared_task(bind=True, acks_late=True, max_retries=None, soft_time_limit=3000, time_limit=3600)
def run_batch_issue(self, batch_id: int) -> int:
    """Issue a session's passed candidates (safe to re-run). While another run holds the
    batch, this copy tries again when that run's lease may have lapsed: it finds the batch
    done, or takes it over from a run whose worker died."""
    from .services import batch_issue_run
    from .services.issuance import BatchHeld

    try:
        return batch_issue_run(batch_id=batch_id).done
    except BatchHeld as held:
        if self.request.is_eager:  # run in-process (development, render_pending --now)
            return 0  # an eager retry would not wait: leave the batch to its holder
        raise self.retry(countdown=held.retry_in) from None


@shared_task(acks_late=True, time_limit=600)
def enqueue_pending_renders() -> int:
    """The sweep (periodic, and ``render_pending``): send again every certificate whose PDF is
    missing or stale, in render groups, and every batch issue whose message was lost (still
    queued long after it was started). Returns how many certificates were sent."""
    from .services import render_pending_ids, stale_batch_ids
    from .services.issuance import RENDER_GROUP

    ids = render_pending_ids()
    for start in range(0, len(ids), RENDER_GROUP):
        render_certificates.delay(ids[start : start + RENDER_GROUP])
    for batch_pk in stale_batch_ids():
        run_batch_issue.delay(batch_pk)
    return len(ids)


@shared_task(acks_late=True, time_limit=3600)
def expire_certificates() -> int:
    """Nightly: valid or suspended certificates past their date (no renewal pending) become
    06 expired."""
    from .services import expire_due

    return expire_due()


@shared_task(acks_late=True, time_limit=3600)
def send_expiry_reminders() -> int:
    """Daily: reminders 90 and 30 days before expiry, each once."""
    from .services import send_expiry_reminders as send

    return send()
