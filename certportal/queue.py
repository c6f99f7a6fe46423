"""Enqueueing after commit without making the user pay for a broker outage.

The data is already committed when ``on_commit`` runs; a broker that does not answer must not
turn that success into an error page. The task is logged as not enqueued and the periodic
sweeps (``render_pending`` and its beat task) pick the work up once the broker is back.
"""

from __future__ import annotations

import logging

from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue(task, *args) -> bool:
    """Send ``task`` now; on a broker failure log it and return False (never raise)."""
    try:
        task.apply_async(args=args, retry=False)
    except Exception:  # kombu/redis/socket errors differ by transport; all mean "not sent"
        logger.warning(
            "task %s not enqueued (broker unavailable); the sweep will retry",
            task.name,
            exc_info=True,
        )
        return False
    return True


def enqueue_on_commit(task, *args) -> None:
    """``enqueue`` once the current transaction commits."""
    transaction.on_commit(lambda: enqueue(task, *args))
