"""Many staff at once on PostgreSQL: issuances and renewal decisions in parallel threads.

Every thread gets either its result or a domain error whose message a person can act on;
nothing else surfaces (no deadlock, no integrity error). Afterwards: no certificate number
repeats or is skipped, no application has two certificates, and every approved renewal
extended its certificate exactly once.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections

from certificates.models import Certificate, ValidityPeriod
from certificates.services import certificate_issue
from certportal.errors import DomainError
from certportal.models import AuditEvent
from conftest import need
from exams import services as exam_services
from exams.models import ExamApplication
from renewals import services as renewal_services
from renewals.models import RenewalApplication
from tests.exams.fixtures import bulk_scheduled, hold
from tests.factories import staff_factory
from tests.integration.conftest import tasks_sent_to
from tests.renewals.fixtures import add_hours, expiring, fill

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

THREADS = 8
TO_ISSUE = 16  # issued during the test, each by two threads at once
TO_RENEW = 6  # renewals decided during the test, each by two or three threads at once


def run_together(jobs):
    """Run each job (a callable) in its own thread, started at the same moment; return one
    ``(result or exception)`` per job, in order. Each thread closes its connection."""
    outcomes: list[object] = [None] * len(jobs)
    start = threading.Barrier(len(jobs))

    def run(index, job):
        try:
            start.wait()
            outcomes[index] = job()
        except BaseException as exc:  # kept and judged by the test
            outcomes[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck (deadlock?)"
    return outcomes


@pytest.fixture(autouse=True)
def _tasks_to_a_redis_of_its_own(private_redis, settings):
    """The renders these changes enqueue go to a Redis dropped at the end: this test is about
    the database. (Not run eagerly: eager tasks in threads race on Celery's process-wide
    "inside a task" flag and leave it set for later tests.)"""
    with tasks_sent_to(private_redis.url, settings):
        yield


@pytest.fixture
def scene(session, issuer_credit_code, assessor, authority_staff, ce_staff):
    """Passed candidates not yet issued, and certificates with a submitted renewal."""
    candidates = bulk_scheduled(session, TO_ISSUE + TO_RENEW)
    hold(session)
    for application, _id_number in candidates:
        exam_services.score_record(
            application=application, actor=assessor, theory=Decimal(90), practical=Decimal(85)
        )
    exam_services.session_publish_scores(session=session, actor=authority_staff)
    applications = list(ExamApplication.objects.filter(session=session).order_by("pk"))
    renewals = []
    for application in applications[:TO_RENEW]:
        certificate = expiring(certificate_issue(application=application, actor=authority_staff))
        add_hours(certificate, ce_staff, 24)
        renewals.append(
            renewal_services.renewal_submit(
                renewal=fill(certificate),
                actor=certificate.holder,
                signature_name=certificate.holder_name,
            )
        )
    return applications[TO_RENEW:], renewals


def test_parallel_issuances_and_renewal_decisions(scene, authority_staff, quanzhou):
    need(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    to_issue, renewals = scene
    second_staff = staff_factory(authority=quanzhou)
    until_before = {r.pk: r.certificate.valid_until for r in renewals}

    jobs, kinds = [], []
    for application in to_issue:
        for actor in (authority_staff, second_staff):
            jobs.append(lambda a=application, s=actor: certificate_issue(application=a, actor=s))
            kinds.append(("issue", application.pk))
    for renewal in renewals[:-1]:  # approved by both, one of them twice
        for actor in (authority_staff, second_staff, second_staff):
            jobs.append(
                lambda r=renewal, s=actor: renewal_services.renewal_approve(renewal=r, actor=s)
            )
            kinds.append(("approve", renewal.pk))
    contested = renewals[-1]  # one approves while the other sends it back
    jobs.append(lambda: renewal_services.renewal_approve(renewal=contested, actor=authority_staff))
    kinds.append(("approve", contested.pk))
    jobs.append(
        lambda: renewal_services.renewal_return(
            renewal=contested, actor=second_staff, reason="请补充继续教育证明"
        )
    )
    kinds.append(("return", contested.pk))

    outcomes = run_together(jobs)

    unexpected = [
        o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, DomainError)
    ]
    assert not unexpected, unexpected
    refusals = [(k, o) for k, o in zip(kinds, outcomes, strict=True) if isinstance(o, DomainError)]
    # Only the loser of the contested renewal is refused, in words saying why.
    assert len(refusals) == 1, refusals
    ((kind, pk), refusal) = refusals[0]
    assert pk == contested.pk and "当前状态为" in refusal.message

    # Issuance: one certificate per application, both callers got it, numbers 1..N unbroken.
    for (kind, pk), outcome in zip(kinds, outcomes, strict=True):
        if kind == "issue":
            assert isinstance(outcome, Certificate) and outcome.application_id == pk
    issued = Counter(
        Certificate.objects.filter(application__in=to_issue).values_list(
            "application_id", flat=True
        )
    )
    assert issued == Counter(a.pk for a in to_issue)
    numbers = sorted(Certificate.objects.values_list("number", flat=True))
    assert [int(n[-6:]) for n in numbers] == list(range(1, TO_RENEW + TO_ISSUE + 1))
    assert (
        AuditEvent.objects.filter(action="certificates.certificate.issued").count()
        == TO_RENEW + TO_ISSUE
    )

    # Renewals: each approved one extended exactly once, with one period and one audit event.
    for renewal in RenewalApplication.objects.filter(pk__in=[r.pk for r in renewals]):
        certificate = Certificate.objects.get(pk=renewal.certificate_id)
        periods = ValidityPeriod.objects.filter(certificate=certificate, reason="renewed")
        approvals = AuditEvent.objects.filter(
            action="renewals.renewal.approved", object_id=str(renewal.pk)
        )
        if renewal.status == RenewalApplication.Status.APPROVED:
            assert certificate.valid_from == until_before[renewal.pk] + timedelta(days=1)
            assert certificate.valid_until == renewal.new_valid_until
            assert certificate.valid_until > until_before[renewal.pk]
            assert (periods.count(), approvals.count()) == (1, 1)
            assert certificate.content_version == 2
        else:
            assert renewal.pk == contested.pk
            assert renewal.status == RenewalApplication.Status.RETURNED
            assert certificate.valid_until == until_before[renewal.pk]
            assert (periods.count(), approvals.count()) == (0, 0)
    assert RenewalApplication.objects.filter(status="approved").count() >= TO_RENEW - 1


def test_refusing_a_request_while_its_certificate_is_issued_never_does_both(
    scene, authority_staff, quanzhou
):
    """One officer issues while another refuses the applicant's 新增申请, at the same moment:
    either the certificate is issued and the request closed as 已签发, or the request is
    refused and nothing issued. Never a valid certificate beside a 不予签发 notice."""
    from certificates.models import CertificateRequest
    from certificates.services import certificate_request_reject, certificate_request_submit
    from certportal.models import Notice

    need(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    to_issue, _renewals = scene
    second_staff = staff_factory(authority=quanzhou)
    requests = [
        certificate_request_submit(application=a, actor=a.applicant) for a in to_issue[:THREADS]
    ]
    jobs = []
    for application, request in zip(to_issue, requests, strict=False):
        jobs.append(lambda a=application: certificate_issue(application=a, actor=authority_staff))
        jobs.append(
            lambda r=request: certificate_request_reject(
                request=r, actor=second_staff, reason="材料不实"
            )
        )

    outcomes = run_together(jobs)

    assert not [
        o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, DomainError)
    ]
    for application, request in zip(to_issue, requests, strict=False):
        request.refresh_from_db()
        issued = Certificate.objects.filter(application=application).exists()
        refused_notice = Notice.objects.filter(
            user=application.applicant, title="证书申请不予签发"
        ).exists()
        if issued:
            assert request.status == CertificateRequest.Status.APPROVED, application.pk
            assert not refused_notice, application.pk
        else:
            assert request.status == CertificateRequest.Status.REJECTED, application.pk
            assert refused_notice, application.pk


def test_revoking_a_certificate_while_its_renewal_is_decided_never_deadlocks(
    scene, authority_staff, quanzhou
):
    """A revocation locks the certificate, then closes its renewal; a renewal decision locks
    both too, in the same order: each pair runs one after the other, and whichever comes
    second either finds the renewal closed or the certificate revoked, in words."""
    from certificates.services import certificate_revoke

    need(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    _to_issue, renewals = scene
    second_staff = staff_factory(authority=quanzhou)
    jobs = []
    for renewal in renewals:
        jobs.append(
            lambda r=renewal: renewal_services.renewal_approve(renewal=r, actor=authority_staff)
        )
        jobs.append(
            lambda r=renewal: certificate_revoke(
                certificate=r.certificate, actor=second_staff, reason="违章作业造成事故"
            )
        )

    outcomes = run_together(jobs)

    unexpected = [
        o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, DomainError)
    ]
    assert not unexpected, unexpected
    for renewal in RenewalApplication.objects.filter(pk__in=[r.pk for r in renewals]):
        certificate = Certificate.objects.get(pk=renewal.certificate_id)
        assert certificate.status == "03"  # every revocation went through
        assert renewal.status in ("approved", "rejected", "withdrawn"), renewal.status
