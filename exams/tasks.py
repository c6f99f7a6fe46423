from celery import shared_task
from django.db import OperationalError


# Rendering is idempotent (an existing ticket is kept): acknowledged only once done, handed
# out again if its worker dies, retried while the database is unreachable.
@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=60,
    time_limit=90,
)
def render_admission_ticket(application_pk: int, force: bool = False) -> bool:
    """Render a scheduled application's admission ticket PDF (idempotent: safe to repeat).
    ``force`` draws it again over an existing one: after its holder's name was corrected."""
    from .services.tickets import ticket_render

    return ticket_render(application_pk=application_pk, force=force) is not None


@shared_task(acks_late=True, soft_time_limit=540, time_limit=600)
def enqueue_missing_tickets() -> int:
    """The sweep (periodic): send again every scheduled application whose ticket was never
    rendered, as the certificates' sweep does for their PDFs. Returns how many were sent."""
    from .selectors import tickets_missing_ids

    ids = tickets_missing_ids()
    for pk in ids:
        render_admission_ticket.delay(pk)
    return len(ids)
