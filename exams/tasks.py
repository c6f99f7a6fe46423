from celery import shared_task
from django.db import OperationalError


@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=60,
    time_limit=90,
)
def render_admission_ticket(application_pk: int) -> bool:
    """Render a scheduled application's admission ticket PDF (idempotent: safe to repeat)."""
    from .services.tickets import ticket_render

    return ticket_render(application_pk=application_pk) is not None
