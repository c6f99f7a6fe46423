"""Enqueueing after commit without making the user pay for a broker outage.

The data is already committed when ``on_commit`` runs; a broker that does not answer must not
turn that success into an error page. The task is logged as not enqueued and the periodic
sweeps (``render_pending`` and its beat task) pick the work up once the broker is back.

Nor may it turn the success into a long wait: one failed send costs the connection timeout
and its retries (seconds), and subscribing to the task's result would wait as long again for
the result store (the same Redis). So nothing subscribes (no caller reads these results), and
after a failed send the broker is left alone for ``BROKER_RETRY_AFTER`` seconds: an admin
action over many rows waits once, not once per row, and stays inside the web server's timeout.
"""

from __future__ import annotations

import logging
import time

from django.db import transaction

logger = logging.getLogger(__name__)

BROKER_RETRY_AFTER = 30.0
_broker_down_until: dict[str, float] = {}  # broker URL → monotonic time to try it again


def enqueue(task, *args) -> bool:
    """Send ``task`` now; on a broker failure log it and return False (never raise)."""
    conf = task.app.conf
    if not conf.task_always_eager and time.monotonic() < _broker_down_until.get(
        conf.broker_url, 0.0
    ):
        logger.warning(
            "task %s not enqueued (broker unavailable moments ago); the sweep will retry",
            task.name,
        )
        return False
    try:
        task.apply_async(args=args, retry=False, ignore_result=True)
    except Exception:  # kombu/redis/socket errors differ by transport; all mean "not sent"
        _broker_down_until[conf.broker_url] = time.monotonic() + BROKER_RETRY_AFTER
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
