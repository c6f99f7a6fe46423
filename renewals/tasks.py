from celery import shared_task


@shared_task(acks_late=True, time_limit=3600)
def close_lapsed_renewals() -> int:
    """Nightly, before the expiry sweep: returned renewals past their correction deadline are
    treated as withdrawn, so the certificates they kept valid can expire."""
    from .services import close_lapsed_returns

    return close_lapsed_returns()
