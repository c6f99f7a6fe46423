import uuid

import pytest

from certportal.models import AuditEvent
from certportal.tasks import worker_ping

from .conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_real_worker_runs_a_task_and_the_result_lands_in_postgresql(celery_worker_process):
    worker = celery_worker_process.start("--pool", "solo")
    token = uuid.uuid4().hex
    worker_ping.apply_async(args=[token], queue=worker.queue)

    events = wait_for(
        lambda: list(AuditEvent.objects.filter(action="certportal.worker.ping", data__token=token))
    )
    assert len(events) == 1, worker.output()[-3000:]
    assert events[0].actor is None


def test_ping_delivered_twice_records_once(celery_worker_process):
    worker = celery_worker_process.start("--pool", "solo")
    token = uuid.uuid4().hex
    first = worker_ping.apply_async(args=[token], queue=worker.queue)
    second = worker_ping.apply_async(args=[token], queue=worker.queue)
    assert first.get(timeout=60) == second.get(timeout=60) == token
    assert AuditEvent.objects.filter(data__token=token).count() == 1
