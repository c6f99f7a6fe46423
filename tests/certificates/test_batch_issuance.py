"""Issuing many at once: the batch's groups, each candidate on its own merits."""

from datetime import timedelta

import pytest
from django.db.models import Count
from django.utils import timezone

from certificates import services
from certificates.models import BatchIssue, Certificate, CertificateStatus, ValidityPeriod
from certificates.services import issuance
from certificates.tasks import render_certificates
from certportal.models import AuditEvent, Notice
from exams.models import ExamApplication
from tests.exams.fixtures import bulk_scheduled

pytestmark = pytest.mark.django_db
ISSUED = "certificates.certificate.issued"
NO_FONT_HAS = "\U0010fffd"  # supplementary private use: no font draws it


def more_passed(session, count):
    """``count`` more passed candidates of the session (ORM setup, after publication)."""
    applications = [application for application, _number in bulk_scheduled(session, count)]
    ExamApplication.objects.filter(pk__in=[a.pk for a in applications]).update(status="passed")
    return applications


@pytest.fixture
def small_groups(monkeypatch):
    """Groups of two, so a handful of candidates spans several transactions and messages."""
    monkeypatch.setattr(issuance, "BATCH_GROUP", 2)
    monkeypatch.setattr(issuance, "RENDER_GROUP", 2)


@pytest.fixture
def start_batch(passed, authority_staff, monkeypatch):
    """Start a batch of ``passed``'s session whose message goes nowhere: the test runs it (or
    its copies) itself."""
    monkeypatch.setattr(issuance, "enqueue_on_commit", lambda task, *args: None)
    return lambda: services.batch_issue_start(session=passed.session, actor=authority_staff)


def test_batch_in_groups_gives_each_candidate_a_number_period_audit_notice_and_pdf(
    passed, authority_staff, small_groups, django_capture_on_commit_callbacks
):
    others = more_passed(passed.session, 4)
    with django_capture_on_commit_callbacks(execute=True):
        batch = services.batch_issue_start(session=passed.session, actor=authority_staff)
    batch.refresh_from_db()
    assert batch.status == BatchIssue.Status.DONE and batch.done == batch.total == 5
    assert [r["message"] for r in batch.results] == ["已签发"] * 5
    certificates = list(Certificate.objects.order_by("application__ticket_number"))
    year = timezone.localdate().year
    # Serials follow the ticket order across the groups, none skipped or repeated.
    assert [c.number for c in certificates] == [
        r["number"] for r in sorted(batch.results, key=lambda r: r["ticket"])
    ]
    assert sorted(c.number for c in certificates) == [
        f"闽C05{year}{serial:06d}" for serial in range(1, 6)
    ]
    assert {c.application_id for c in certificates} == {passed.pk, *(a.pk for a in others)}
    audited = AuditEvent.objects.filter(action=ISSUED).values("object_id").annotate(n=Count("id"))
    assert sorted((int(a["object_id"]), a["n"]) for a in audited) == sorted(
        (c.pk, 1) for c in certificates
    )
    assert all(
        ValidityPeriod.objects.filter(certificate=c, reason="issued").count() == 1
        for c in certificates
    )
    assert all(
        Notice.objects.filter(user_id=c.holder_id, title__contains=c.number).count() == 1
        for c in certificates
    )
    assert all(c.pdf and c.pdf_version == c.content_version == 1 for c in certificates)
    assert certificates[0].holder_photo  # the candidate who uploaded a photo has it copied


def passed_again(passed: ExamApplication) -> ExamApplication:
    """The same person passing the same trade in the same session a second time."""
    return ExamApplication.objects.create(
        applicant=passed.applicant,
        trade=passed.trade,
        authority=passed.authority,
        assessment_institution=passed.assessment_institution,
        status="passed",
        session=passed.session,
    )


def test_issue_many_is_idempotent(passed, authority_staff, django_capture_on_commit_callbacks):
    others = more_passed(passed.session, 2)
    ids = [passed.pk, *(a.pk for a in others)]
    with django_capture_on_commit_callbacks(execute=True):
        first = services.certificate_issue_many(application_ids=ids, actor=authority_staff)
        again = services.certificate_issue_many(application_ids=ids, actor=authority_staff)
    assert not any(o.already_issued for o in first)
    assert all(o.already_issued for o in again)
    assert [o.certificate.pk for o in again] == [o.certificate.pk for o in first]
    assert (
        Certificate.objects.count() == 3 and AuditEvent.objects.filter(action=ISSUED).count() == 3
    )


def test_refused_candidates_get_their_reason_and_the_others_are_issued(
    certificate, passed, authority_staff, django_capture_on_commit_callbacks
):
    first, not_passed, second = more_passed(passed.session, 3)
    ExamApplication.objects.filter(pk=not_passed.pk).update(status="failed")
    # The holder of ``certificate`` passed the same trade again: refused as a duplicate.
    again = passed_again(passed)
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = services.certificate_issue_many(
            application_ids=[first.pk, not_passed.pk, again.pk, second.pk],
            actor=authority_staff,
        )
    assert [o.application_id for o in outcomes] == [first.pk, not_passed.pk, again.pk, second.pk]
    issued, failed, duplicate, issued_too = outcomes
    assert failed.certificate is None and "只有考核合格的报名可以发证" in failed.error.message
    assert duplicate.certificate is None and "已持有该工种" in duplicate.error.message
    year = timezone.localdate().year
    assert [issued.certificate.number, issued_too.certificate.number] == [
        f"闽C05{year}000002",
        f"闽C05{year}000003",
    ]
    assert not Certificate.objects.filter(application__in=[not_passed, again]).exists()
    assert AuditEvent.objects.filter(action=ISSUED).count() == 3


def test_two_passed_applications_of_one_person_in_one_group_give_one_certificate(
    passed, authority_staff, django_capture_on_commit_callbacks
):
    twin = passed_again(passed)
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = services.certificate_issue_many(
            application_ids=[passed.pk, twin.pk], actor=authority_staff
        )
    assert outcomes[0].certificate is not None
    assert outcomes[1].certificate is None and "已持有该工种" in outcomes[1].error.message
    assert Certificate.objects.filter(holder=passed.applicant).count() == 1


def test_issue_many_by_staff_of_another_authority_issues_nothing(
    passed, other_authority_staff, django_capture_on_commit_callbacks
):
    others = more_passed(passed.session, 2)
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = services.certificate_issue_many(
            application_ids=[passed.pk, *(a.pk for a in others)], actor=other_authority_staff
        )
    assert all("无权" in o.error.message for o in outcomes)
    assert not Certificate.objects.exists() and not AuditEvent.objects.filter(action=ISSUED)


def test_render_group_renders_each_and_one_without_a_font_does_not_stop_the_others(
    passed, authority_staff, django_capture_on_commit_callbacks
):
    others = more_passed(passed.session, 2)
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = services.certificate_issue_many(
            application_ids=[passed.pk, *(a.pk for a in others)], actor=authority_staff
        )
    broken, *fine = [o.certificate.pk for o in outcomes]
    Certificate.objects.filter(pk__in=[broken, *fine]).update(content_version=2)
    Certificate.objects.filter(pk=broken).update(holder_name="王" + NO_FONT_HAS)

    assert render_certificates([broken, *fine]) == 2

    broken_row = Certificate.objects.get(pk=broken)
    assert broken_row.pdf_version == 1 and "U+10FFFD" in broken_row.render_error
    assert all(
        c.pdf_version == c.content_version == 2 and c.status == CertificateStatus.VALID
        for c in Certificate.objects.filter(pk__in=fine)
    )
    assert render_certificates([broken, *fine]) == 0  # redelivered: nothing rendered twice
    assert all(c.pdfs.count() == 2 for c in Certificate.objects.filter(pk__in=fine))


def test_the_certificate_keeps_the_photo_of_issuance_when_the_upload_goes(certificate, passed):
    from django.core.files.storage import default_storage

    from applicants.models import Material

    material = Material.objects.get(owner=passed.applicant, kind="photo")
    with material.file.open("rb") as uploaded:
        photo = uploaded.read()
    assert certificate.holder_photo.name != material.file.name
    # Replacing a material writes a new file and deletes the old one's name.
    default_storage.delete(material.file.name)
    with certificate.holder_photo.open("rb") as kept:
        assert kept.read() == photo


def test_a_failure_mid_group_leaves_every_previous_pdf_and_no_new_file(
    passed, authority_staff, monkeypatch, private_media_root, django_capture_on_commit_callbacks
):
    from certificates.services import rendering

    others = more_passed(passed.session, 2)
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = services.certificate_issue_many(
            application_ids=[passed.pk, *(a.pk for a in others)], actor=authority_staff
        )
    pks = [o.certificate.pk for o in outcomes]
    Certificate.objects.filter(pk__in=pks).update(content_version=2)
    before = sorted(p.name for p in private_media_root.rglob("*.pdf"))
    render = rendering.render_certificate_pdf
    calls = []

    def disk_full_on_the_second(data):
        calls.append(data.number)
        if len(calls) == 2:
            raise OSError("disk full")
        return render(data)

    monkeypatch.setattr(rendering, "render_certificate_pdf", disk_full_on_the_second)
    with pytest.raises(OSError):
        render_certificates(pks)
    assert sorted(p.name for p in private_media_root.rglob("*.pdf")) == before
    assert all(
        c.pdf_version == 1 and c.pdfs.count() == 1 for c in Certificate.objects.filter(pk__in=pks)
    )
    assert services.render_pending_ids() == sorted(pks)


def test_a_batch_whose_message_was_lost_is_sent_again_by_the_sweep(
    passed, authority_staff, monkeypatch
):
    """Started while the broker was down, the batch's message never arrived: half an hour on,
    the sweep sends it again and everyone is issued; a batch started a minute ago is left to
    its own message."""
    from certificates.tasks import enqueue_pending_renders

    sent = []
    monkeypatch.setattr(issuance, "enqueue_on_commit", lambda task, *args: sent.append(args))
    lost = services.batch_issue_start(session=passed.session, actor=authority_staff)
    BatchIssue.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(minutes=31))
    recent = services.batch_issue_start(session=passed.session, actor=authority_staff)
    assert services.stale_batch_ids() == [lost.pk]

    enqueue_pending_renders.apply(throw=True)  # the periodic sweep, tasks run in-process
    lost.refresh_from_db()
    recent.refresh_from_db()
    assert lost.status == BatchIssue.Status.DONE and lost.done == 1
    assert recent.status == BatchIssue.Status.QUEUED
    certificate = Certificate.objects.get(application=passed)
    assert not certificate.pdf  # its render message was lost as well (the broker is down)
    enqueue_pending_renders.apply(throw=True)  # the next sweep
    certificate.refresh_from_db()
    assert certificate.pdf and certificate.pdf_version == certificate.content_version
    assert Certificate.objects.count() == 1


def test_a_second_copy_of_a_running_batch_waits_for_the_first_runs_lease(start_batch, monkeypatch):
    """The sweep's copy of a batch, or its late first message, arriving while a run holds the
    batch: it issues nothing and writes nothing, and its task tries again once the lease may
    have lapsed."""
    from certificates.tasks import run_batch_issue

    batch = start_batch()
    holder = issuance._batch_claim(batch.pk)
    BatchIssue.objects.filter(pk=batch.pk).update(done=1, results=[{"ticket": "held"}])

    with pytest.raises(issuance.BatchHeld) as held:
        services.batch_issue_run(batch_id=batch.pk)
    assert 290 < held.value.retry_in <= 301  # the lease is five minutes
    batch.refresh_from_db()
    assert batch.lease_token == holder and batch.results == [{"ticket": "held"}]
    assert not Certificate.objects.exists()

    retried = []

    def retry(countdown):
        retried.append(countdown)
        return RuntimeError("retried")

    monkeypatch.setattr(run_batch_issue, "retry", retry)
    with pytest.raises(RuntimeError, match="retried"):
        run_batch_issue.run(batch.pk)
    assert len(retried) == 1 and 290 < retried[0] <= 301
    # Run in-process (development, ``render_pending --now``) a retry would not wait: the copy
    # leaves the batch to its holder.
    assert run_batch_issue.apply(args=[batch.pk], throw=True).get() == 0
    assert len(retried) == 1 and not Certificate.objects.exists()


def test_a_run_whose_lease_was_taken_over_stops_and_the_new_run_writes_the_report(
    passed, start_batch, small_groups, monkeypatch, django_capture_on_commit_callbacks
):
    """A run stalls past its lease (a long pause of its machine); a copy takes the batch over
    and finishes it. The stalled run, resuming, issues no more groups and writes nothing: the
    report, the progress and the 'finished' audit are the new run's, once."""
    more_passed(passed.session, 4)  # five candidates: three groups of two
    batch = start_batch()
    issue_many = issuance.certificate_issue_many
    groups = []

    def stall_after_the_first_group(**kwargs):
        groups.append(kwargs["application_ids"])
        outcomes = issue_many(**kwargs)
        if len(groups) == 1:
            BatchIssue.objects.filter(pk=batch.pk).update(
                lease_until=timezone.now() - timedelta(seconds=1)
            )
            services.batch_issue_run(batch_id=batch.pk)  # the copy, taking it over
        return outcomes

    monkeypatch.setattr(issuance, "certificate_issue_many", stall_after_the_first_group)
    with django_capture_on_commit_callbacks(execute=True):
        services.batch_issue_run(batch_id=batch.pk)

    batch.refresh_from_db()
    assert batch.status == BatchIssue.Status.DONE and batch.done == batch.total == 5
    assert [r["message"] for r in batch.results] == ["此前已签发"] * 2 + ["已签发"] * 3
    assert batch.lease_token is None and batch.lease_until is None
    assert len(groups) == 1 + 3  # the stalled run's first group, then the copy's three
    assert AuditEvent.objects.filter(action="certificates.batch.finished").count() == 1
    assert Certificate.objects.count() == 5
    assert AuditEvent.objects.filter(action=ISSUED).count() == 5


def test_the_sweep_sends_again_a_running_batch_whose_lease_lapsed_and_no_live_one(start_batch):
    live, lapsed, unleased, old_unleased = (start_batch() for _ in range(4))
    issuance._batch_claim(live.pk)
    issuance._batch_claim(lapsed.pk)
    BatchIssue.objects.filter(pk=lapsed.pk).update(
        lease_until=timezone.now() - timedelta(seconds=1)
    )
    # Left running by a worker from before leases: it may still be at work for the run's
    # time limit (an hour), and is taken up only after that.
    BatchIssue.objects.filter(pk__in=[unleased.pk, old_unleased.pk]).update(
        status=BatchIssue.Status.RUNNING
    )
    BatchIssue.objects.filter(pk=old_unleased.pk).update(
        created_at=timezone.now() - timedelta(minutes=61)
    )
    assert services.stale_batch_ids() == [lapsed.pk, old_unleased.pk]
    with pytest.raises(issuance.BatchHeld) as held:
        services.batch_issue_run(batch_id=unleased.pk)
    assert 290 < held.value.retry_in <= 301  # looks again within a lease's time

    services.batch_issue_run(batch_id=lapsed.pk)
    lapsed.refresh_from_db()
    assert lapsed.status == BatchIssue.Status.DONE and lapsed.done == 1
    services.batch_issue_run(batch_id=old_unleased.pk)
    old_unleased.refresh_from_db()
    assert old_unleased.status == BatchIssue.Status.DONE and old_unleased.lease_token is None
    assert services.stale_batch_ids() == []
    assert AuditEvent.objects.filter(action="certificates.batch.finished").count() == 2


def test_a_batch_that_breaks_midway_is_marked_failed_with_its_reason_and_not_run_again(
    passed, start_batch, authority_staff, small_groups, monkeypatch, client
):
    more_passed(passed.session, 2)
    batch = start_batch()
    issue_many = issuance.certificate_issue_many
    calls = []

    def broken_on_the_second_group(**kwargs):
        calls.append(kwargs["application_ids"])
        if len(calls) == 2:
            raise KeyError("a bug")
        return issue_many(**kwargs)

    monkeypatch.setattr(issuance, "certificate_issue_many", broken_on_the_second_group)
    with pytest.raises(KeyError):
        services.batch_issue_run(batch_id=batch.pk)

    batch.refresh_from_db()
    assert batch.status == BatchIssue.Status.FAILED and batch.finished_at
    assert f"签发因系统故障中断（已记录，运维人员可按批次号 {batch.pk} 查找）" in batch.error
    assert "不会重复签发" in batch.error and "KeyError" not in batch.error
    assert batch.done == 2 and batch.lease_token is None
    failed = AuditEvent.objects.get(action="certificates.batch.failed")
    assert failed.object_id == str(batch.pk) and failed.data == {"error": "KeyError"}
    assert not AuditEvent.objects.filter(action="certificates.batch.finished").exists()
    assert Certificate.objects.count() == 2  # the first group stands
    assert services.stale_batch_ids() == []
    assert services.batch_issue_run(batch_id=batch.pk).status == BatchIssue.Status.FAILED
    assert len(calls) == 2  # a late copy of the message does not run it again

    client.force_login(authority_staff)
    page = client.get(f"/admin/certificates/batchissue/{batch.pk}/change/")
    assert page.status_code == 200
    assert "失败原因" in page.text and "签发因系统故障中断" in page.text
    done = start_batch()
    services.batch_issue_run(batch_id=done.pk)
    page = client.get(f"/admin/certificates/batchissue/{done.pk}/change/")
    assert page.status_code == 200 and "失败原因" not in page.text


def test_a_batch_whose_database_went_away_is_left_for_the_sweep(start_batch, monkeypatch):
    """The connection is lost mid-batch: the failure cannot be recorded either, so the batch
    stays running until its lease lapses, and then the sweep sends it again."""
    from django.db import InterfaceError, OperationalError

    batch = start_batch()
    write = issuance._batch_write

    def unreachable(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    def closed(batch_id, token, **fields):
        if fields.get("status") == BatchIssue.Status.FAILED:
            raise InterfaceError("connection already closed")
        return write(batch_id, token, **fields)

    monkeypatch.setattr(issuance, "certificate_issue_many", unreachable)
    monkeypatch.setattr(issuance, "_batch_write", closed)
    with pytest.raises(OperationalError):
        services.batch_issue_run(batch_id=batch.pk)
    batch.refresh_from_db()
    assert batch.status == BatchIssue.Status.RUNNING and not batch.error
    assert services.stale_batch_ids() == []  # until its lease lapses
    BatchIssue.objects.filter(pk=batch.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert services.stale_batch_ids() == [batch.pk]
    monkeypatch.undo()
    services.batch_issue_run(batch_id=batch.pk)  # the database is back
    batch.refresh_from_db()
    assert batch.status == BatchIssue.Status.DONE and batch.done == 1


def test_a_host_whose_clock_runs_ahead_does_not_take_over_a_live_run(start_batch, monkeypatch):
    """Leases are given, renewed and judged by the database's clock: a worker host whose own
    clock is an hour fast still sees another run's lease as live."""
    batch = start_batch()
    holder = issuance._batch_claim(batch.pk)
    fast = timezone.now() + timedelta(hours=1)
    monkeypatch.setattr(timezone, "now", lambda: fast)

    assert services.stale_batch_ids() == []
    with pytest.raises(issuance.BatchHeld) as held:
        services.batch_issue_run(batch_id=batch.pk)
    assert 290 < held.value.retry_in <= 301  # looks again as the lease may lapse, not at once
    batch.refresh_from_db()
    assert batch.lease_token == holder and not Certificate.objects.exists()
