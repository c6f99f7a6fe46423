"""A real broker outage: Redis stopped while staff issue, then started again (SPEC 7).

The test runs a redis-server of its own (the shared one is never stopped). While it is down,
authority staff approve certificate requests in the admin: the certificates are committed and
the page says so. Redis comes back empty (nothing was queued, nothing is persisted); the beat
sweep, run by a real worker, renders every missing e-certificate.
"""

from __future__ import annotations

import logging
import time

import pytest
from django.contrib.messages import get_messages
from django.db.models import F

from certificates.models import Certificate, CertificatePdf, CertificateRequest
from certificates.services import certificate_request_submit
from certificates.tasks import enqueue_pending_renders
from certportal.models import AuditEvent
from exams.models import ExamApplication
from tests.integration.conftest import PASSED_CANDIDATES, redis_answers, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BROKER_DOWN_ANSWER_WITHIN = 15.0  # seconds, for PASSED_CANDIDATES approvals


@pytest.fixture
def requests_to_approve(passed_session):
    for application in ExamApplication.objects.filter(session=passed_session, status="passed"):
        certificate_request_submit(application=application, actor=application.applicant)
    return list(CertificateRequest.objects.order_by("pk"))


def test_issuance_while_redis_is_stopped_commits_and_the_sweep_renders_after_restart(
    workers, private_redis, requests_to_approve, authority_staff, client, caplog
):
    private_redis.stop()
    assert not redis_answers(private_redis.url)

    client.force_login(authority_staff)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="certportal.queue"):
        response = client.post(
            "/admin/certificates/certificaterequest/",
            {"action": "approve", "_selected_action": [r.pk for r in requests_to_approve]},
        )
    answered_in = time.monotonic() - started
    assert response.status_code == 302
    # One wait for the dead broker per request, not one per certificate: an action over many
    # rows must answer well inside gunicorn's 30-second worker timeout.
    assert answered_in < BROKER_DOWN_ANSWER_WITHIN, f"{answered_in:.1f} s"
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert shown == [f"签发：成功 {PASSED_CANDIDATES} 条。"]
    assert caplog.text.count("not enqueued") == PASSED_CANDIDATES

    certificates = Certificate.objects.order_by("number")
    assert certificates.count() == PASSED_CANDIDATES
    assert not CertificatePdf.objects.exists()
    assert set(CertificateRequest.objects.values_list("status", flat=True)) == {"approved"}

    private_redis.start()
    worker = workers.start("after-restart", "--pool", "solo")
    enqueue_pending_renders.delay()

    rendered = wait_for(
        lambda: not Certificate.objects.filter(pdf_version__lt=F("content_version")).exists()
    )
    assert rendered, worker.output()[-3000:]
    assert sorted(CertificatePdf.objects.values_list("certificate_id", "version")) == sorted(
        (pk, 1) for pk in certificates.values_list("pk", flat=True)
    )
    numbers = list(certificates.values_list("number", flat=True))
    assert len(set(numbers)) == PASSED_CANDIDATES
    assert (
        AuditEvent.objects.filter(action="certificates.certificate.issued").count()
        == PASSED_CANDIDATES
    )
