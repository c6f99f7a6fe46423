import shutil
import subprocess
from datetime import date, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from certificates import services
from certificates.models import (
    Certificate,
    CertificatePdf,
    CertificateRequest,
    CertificateStatus,
    ValidityPeriod,
)
from certportal.errors import DomainError
from certportal.models import AuditEvent, Notice
from conftest import need
from exams.eligibility import retirement_date

pytestmark = pytest.mark.django_db
C = CertificateStatus


def test_issue_numbers_copies_holder_and_records_period(certificate, passed):
    year = timezone.localdate().year
    assert certificate.number == f"闽C05{year}000001"
    assert (
        certificate.holder_name == "王小明"
        and certificate.holder_id_number == passed.applicant.profile.id_number
    )
    assert certificate.valid_from == certificate.issued_on == certificate.first_issued_on
    assert certificate.valid_until == date(
        certificate.valid_from.year + 2, certificate.valid_from.month, certificate.valid_from.day
    ) - timedelta(days=1)
    assert certificate.holder_photo
    assert list(
        ValidityPeriod.objects.filter(certificate=certificate).values_list("reason", flat=True)
    ) == ["issued"]
    assert AuditEvent.objects.filter(
        action="certificates.certificate.issued", object_id=str(certificate.pk)
    ).exists()
    assert Notice.objects.filter(user=passed.applicant, title__contains=certificate.number).exists()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT holder_id_number FROM certificates_certificate WHERE id = %s", [certificate.pk]
        )
        (raw,) = cursor.fetchone()
    assert certificate.holder_id_number not in raw


def test_issue_renders_the_pdf_and_identifier(certificate):
    assert certificate.pdf and certificate.pdf_version == certificate.content_version == 1
    assert certificate.ecert_identifier.startswith(
        "1.2.156.3005.2.11100000000013338W032.91350100M000100Y43.C05"
    )
    assert CertificatePdf.objects.filter(
        certificate=certificate, version=1, sha256=certificate.pdf_sha256
    ).exists()


def test_issue_is_idempotent(certificate, passed, authority_staff):
    again = services.certificate_issue(application=passed, actor=authority_staff)
    assert again.pk == certificate.pk and Certificate.objects.count() == 1


def test_issue_refused_for_a_wrong_state_or_actor(
    scheduled, passed, authority_staff, other_authority_staff
):
    with pytest.raises(DomainError, match="无权"):
        services.certificate_issue(application=passed, actor=other_authority_staff)
    assert not Certificate.objects.exists()


def test_issue_refused_unless_passed(approved, authority_staff):
    with pytest.raises(DomainError, match="考核合格"):
        services.certificate_issue(application=approved, actor=authority_staff)


def test_validity_never_past_retirement(passed, authority_staff):
    profile = passed.applicant.profile
    start = retirement_date(profile.birth_date, profile.sex) - timedelta(days=100)
    certificate = services.certificate_issue(
        application=passed, actor=authority_staff, issued_on=start
    )
    assert certificate.valid_until == retirement_date(profile.birth_date, profile.sex) - timedelta(
        days=1
    )


def test_a_womans_validity_stops_at_the_authoritys_female_age_limit(quanzhou):
    """The limit the application was checked against (Policy.female_max_age), not a fixed
    55: an authority with 50 issues a certificate that ends the day before her 50th birthday."""
    from exams.selectors import policy_for

    policy = policy_for(quanzhou)
    policy.female_max_age = 50
    policy.save()
    until = services.validity_for(
        authority=quanzhou, birth_date=date(1980, 6, 15), sex="F", start=date(2029, 3, 1)
    )
    assert until == date(2030, 6, 14)


def test_the_validity_is_the_authoritys_number_of_years(quanzhou):
    from exams.selectors import policy_for

    policy = policy_for(quanzhou)
    policy.validity_years = 3
    policy.save()
    until = services.validity_for(
        authority=quanzhou, birth_date=date(1990, 6, 15), sex="M", start=date(2027, 5, 10)
    )
    assert until == date(2030, 5, 9)


def test_a_certificate_issued_on_a_leap_day_runs_through_28_february(quanzhou):
    until = services.validity_for(
        authority=quanzhou, birth_date=date(1990, 6, 15), sex="M", start=date(2024, 2, 29)
    )
    assert until == date(2026, 2, 28)


def test_holder_of_a_valid_certificate_of_the_trade_is_not_eligible(certificate, passed):
    from exams.eligibility import failures
    from exams.models import ExamApplication
    from exams.selectors import eligibility_report

    new = ExamApplication(
        applicant=passed.applicant,
        trade=passed.trade,
        authority=passed.authority,
        assessment_institution=passed.assessment_institution,
    )
    assert "holds_certificate" in {c.code for c in failures(eligibility_report(new))}


def test_a_holder_is_told_at_once_that_no_draft_can_be_made_for_the_trade(certificate, passed):
    """Not a draft whose checklist then says it can never be submitted."""
    from exams.models import ExamApplication
    from exams.services import application_create

    before = ExamApplication.objects.count()
    with pytest.raises(DomainError, match="不能重复报考") as caught:
        application_create(
            applicant=passed.applicant,
            trade=passed.trade,
            assessment_institution=passed.assessment_institution,
            training_institution=passed.training_institution,
        )
    assert caught.value.code == "holds_certificate" and passed.trade.name in str(caught.value)
    assert ExamApplication.objects.count() == before


def test_certificate_request_by_the_applicant_then_approved(
    passed, authority_staff, django_capture_on_commit_callbacks
):
    request = services.certificate_request_submit(application=passed, actor=passed.applicant)
    assert (
        services.certificate_request_submit(application=passed, actor=passed.applicant).pk
        == request.pk
    )
    with django_capture_on_commit_callbacks(execute=True):
        certificate = services.certificate_request_approve(request=request, actor=authority_staff)
    request.refresh_from_db()
    assert (
        request.status == CertificateRequest.Status.APPROVED
        and certificate.application_id == passed.pk
    )


def test_a_request_still_open_is_answered_by_the_batch_and_cannot_be_refused_after(
    passed, authority_staff, django_capture_on_commit_callbacks
):
    """The applicant asked, then the authority issued the session's batch: the request leaves
    the pending list as 已签发 (audited), and refusing it afterwards is refused, no notice."""
    request = services.certificate_request_submit(application=passed, actor=passed.applicant)
    with django_capture_on_commit_callbacks(execute=True):
        services.batch_issue_start(session=passed.session, actor=authority_staff)
    certificate = Certificate.objects.get(application=passed)
    request.refresh_from_db()
    assert request.status == CertificateRequest.Status.APPROVED and request.decided_at
    assert AuditEvent.objects.filter(
        action="certificates.request.approved", object_id=str(request.pk)
    ).exists()
    with pytest.raises(DomainError, match="已签发"):
        services.certificate_request_reject(
            request=request, actor=authority_staff, reason="材料不实"
        )
    request.refresh_from_db()
    assert request.status == CertificateRequest.Status.APPROVED
    assert not Notice.objects.filter(title="证书申请不予签发").exists()
    assert Certificate.objects.get(pk=certificate.pk).status == "01"


def test_a_request_is_not_refused_once_its_certificate_exists(passed, authority_staff):
    """Even a request left open (issued before requests were closed by issuance)."""
    request = services.certificate_request_submit(application=passed, actor=passed.applicant)
    services.certificate_issue(application=passed, actor=authority_staff)
    CertificateRequest.objects.filter(pk=request.pk).update(status="submitted")
    with pytest.raises(DomainError, match="证书已经签发"):
        services.certificate_request_reject(
            request=request, actor=authority_staff, reason="材料不实"
        )
    request.refresh_from_db()
    assert request.status == CertificateRequest.Status.SUBMITTED and not request.reason


def test_the_migration_closes_requests_answered_before_issuance_closed_them(
    passed, authority_staff
):
    """Requests left 已提交 beside a certificate issued by a batch before issuance closed them
    leave the pending list when the migration runs."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("certificates.migrations.0005_validity_reason_choices")
    request = services.certificate_request_submit(application=passed, actor=passed.applicant)
    services.certificate_issue(application=passed, actor=authority_staff)
    CertificateRequest.objects.filter(pk=request.pk).update(status="submitted", decided_at=None)
    AuditEvent.objects.filter(action="certificates.request.approved").delete()
    migration.close_answered_requests(apps, None)
    request.refresh_from_db()
    assert request.status == CertificateRequest.Status.APPROVED and request.decided_at
    event = AuditEvent.objects.get(action="certificates.request.approved")
    assert (event.object_id, event.to_state, event.actor) == (str(request.pk), "approved", None)


def test_certificate_request_refused_before_passing(approved):
    with pytest.raises(DomainError, match="考核合格"):
        services.certificate_request_submit(application=approved, actor=approved.applicant)


def test_a_refused_certificate_is_never_issued_after(passed, authority_staff):
    request = services.certificate_request_submit(application=passed, actor=passed.applicant)
    services.certificate_request_reject(request=request, actor=authority_staff, reason="材料不实")

    with pytest.raises(DomainError, match="不予签发"):
        services.certificate_issue(application=passed, actor=authority_staff)
    batch = services.batch_issue_start(session=passed.session, actor=authority_staff)

    assert batch.total == 0
    assert not Certificate.objects.filter(application=passed).exists()


def test_batch_issue_reports_each_candidate(
    passed, authority_staff, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        batch = services.batch_issue_start(session=passed.session, actor=authority_staff)
    batch.refresh_from_db()
    assert batch.status == "done" and batch.done == batch.total == 1
    assert batch.results[0]["ok"] and batch.results[0]["number"].startswith("闽C05")
    rerun = services.batch_issue_run(batch_id=batch.pk)
    assert rerun.status == "done" and Certificate.objects.count() == 1


def test_batch_refused_before_publication(scheduled, authority_staff):
    with pytest.raises(DomainError, match="成绩发布"):
        services.batch_issue_start(session=scheduled.session, actor=authority_staff)


# --- status ------------------------------------------------------------------------------

TRANSITIONS = [
    (services.certificate_suspend, C.SUSPENDED),
    (services.certificate_revoke, C.REVOKED),
    (services.certificate_withdraw, C.WITHDRAWN),
    (services.certificate_cancel, C.CANCELLED),
]


@pytest.mark.parametrize(("change", "to"), TRANSITIONS)
def test_status_change_audits_rerenders_and_is_idempotent(
    certificate, authority_staff, change, to, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        changed = change(certificate=certificate, actor=authority_staff, reason="违规操作")
    assert changed.status == to and changed.status_reason == "违规操作"
    assert len(callbacks) >= 1
    changed.refresh_from_db()
    assert changed.pdf_version == changed.content_version == 2 and changed.ecert_version == 2
    assert CertificatePdf.objects.filter(certificate=certificate).count() == 2
    events = AuditEvent.objects.filter(object_id=str(certificate.pk), to_state=to)
    assert events.count() == 1 and events.get().from_state == C.VALID
    change(certificate=changed, actor=authority_staff, reason="违规操作")
    assert AuditEvent.objects.filter(object_id=str(certificate.pk), to_state=to).count() == 1


def test_status_change_needs_reason_and_scope(certificate, authority_staff, other_authority_staff):
    with pytest.raises(DomainError, match="原因"):
        services.certificate_revoke(certificate=certificate, actor=authority_staff, reason=" ")
    with pytest.raises(DomainError, match="无权"):
        services.certificate_revoke(
            certificate=certificate, actor=other_authority_staff, reason="x"
        )


def test_final_states_cannot_change(certificate, authority_staff):
    services.certificate_revoke(certificate=certificate, actor=authority_staff, reason="x")
    with pytest.raises(DomainError, match="吊销"):
        services.certificate_suspend(certificate=certificate, actor=authority_staff, reason="y")
    with pytest.raises(DomainError):
        services.certificate_lift_suspension(
            certificate=certificate, actor=authority_staff, reason="y"
        )


def test_suspension_is_lifted(certificate, authority_staff):
    services.certificate_suspend(certificate=certificate, actor=authority_staff, reason="调查中")
    lifted = services.certificate_lift_suspension(
        certificate=certificate, actor=authority_staff, reason="调查结束"
    )
    assert lifted.status == C.VALID


def past(certificate, **fields):
    today = timezone.localdate()
    Certificate.objects.filter(pk=certificate.pk).update(
        valid_from=today - timedelta(days=731), valid_until=today - timedelta(days=1), **fields
    )


def test_past_its_date_a_certificate_shows_expired_at_once_and_the_sweep_stores_it(certificate):
    past(certificate)
    certificate.refresh_from_db()
    assert certificate.status == C.VALID and certificate.effective_status == C.EXPIRED
    assert services.expire_due() == 1
    certificate.refresh_from_db()
    assert certificate.status == C.EXPIRED
    assert services.expire_due() == 0


def test_a_suspension_does_not_outlive_the_certificate(certificate, authority_staff):
    services.certificate_suspend(certificate=certificate, actor=authority_staff, reason="调查中")
    past(certificate)
    certificate.refresh_from_db()
    assert certificate.status == C.SUSPENDED and certificate.effective_status == C.EXPIRED
    assert certificate.effective_status_label == "过期失效"

    # Lifting a suspension that ended with the certificate is refused, before the sweep and
    # after it: there is nothing to give back.
    with pytest.raises(DomainError, match="已过期失效，不能发还"):
        services.certificate_lift_suspension(
            certificate=certificate, actor=authority_staff, reason="调查结束"
        )
    certificate.refresh_from_db()
    assert certificate.status == C.SUSPENDED

    assert services.expire_due() == 1
    certificate.refresh_from_db()
    assert certificate.status == C.EXPIRED
    with pytest.raises(DomainError, match="过期失效"):
        services.certificate_lift_suspension(
            certificate=certificate, actor=authority_staff, reason="调查结束"
        )


def test_a_certificate_past_its_date_cannot_be_suspended(certificate, authority_staff):
    past(certificate)
    with pytest.raises(DomainError, match="已过期失效，不能暂扣"):
        services.certificate_suspend(certificate=certificate, actor=authority_staff, reason="x")
    certificate.refresh_from_db()
    assert certificate.status == C.VALID and certificate.effective_status == C.EXPIRED


def test_a_suspended_certificate_with_a_renewal_pending_stays_suspended(
    certificate, authority_staff
):
    services.certificate_suspend(certificate=certificate, actor=authority_staff, reason="调查中")
    past(certificate, renewal_pending=True)
    certificate.refresh_from_db()
    assert certificate.effective_status == C.SUSPENDED and services.expire_due() == 0


def test_pending_renewal_keeps_a_certificate_valid(certificate):
    past(certificate, renewal_pending=True)
    certificate.refresh_from_db()
    assert certificate.effective_status == C.VALID and services.expire_due() == 0


def test_render_twice_gives_one_version(certificate):
    services.certificate_render(certificate_pk=certificate.pk)
    services.certificate_render(certificate_pk=certificate.pk)
    assert CertificatePdf.objects.filter(certificate=certificate).count() == 1


def test_failure_mid_render_leaves_previous_pdf(certificate, monkeypatch, private_media_root):
    from certificates.services import rendering

    Certificate.objects.filter(pk=certificate.pk).update(content_version=2)
    before = sorted(p.name for p in private_media_root.rglob("*.pdf"))

    def explode(data):
        raise OSError("disk full")

    monkeypatch.setattr(rendering, "render_certificate_pdf", explode)
    with pytest.raises(OSError):
        services.certificate_render(certificate_pk=certificate.pk)
    certificate.refresh_from_db()
    assert certificate.pdf_version == 1 and certificate.pdf
    assert sorted(p.name for p in private_media_root.rglob("*.pdf")) == before
    assert services.render_pending_ids() == [certificate.pk]


def test_rendered_certificate_reads_back_and_its_qr_is_the_verify_url(certificate):
    need(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils)")
    need(shutil.which("zbarimg") is not None, "zbarimg (zbar-tools)")
    text = subprocess.run(
        ["pdftotext", certificate.pdf.path, "-"], capture_output=True, text=True, check=True
    ).stdout
    for expected in (
        "建筑施工特种作业操作资格证书",
        "王小明",
        certificate.number,
        certificate.trade.name,
        "泉州市住房和城乡建设局",
    ):
        assert expected in text
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "150",
            "-png",
            "-singlefile",
            certificate.pdf.path,
            str(certificate.pdf.path) + "-page",
        ],
        check=True,
    )
    qr = subprocess.run(
        ["zbarimg", "--raw", "-q", str(certificate.pdf.path) + "-page.png"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert qr == certificate.verify_url
    assert certificate.holder_id_number not in qr and certificate.number not in qr


def test_expiry_reminders_are_sent_once(certificate):
    Certificate.objects.filter(pk=certificate.pk).update(
        valid_until=timezone.localdate() + timedelta(days=90)
    )
    assert services.send_expiry_reminders() == 1
    assert services.send_expiry_reminders() == 0
    Certificate.objects.filter(pk=certificate.pk).update(
        valid_until=timezone.localdate() + timedelta(days=30)
    )
    assert services.send_expiry_reminders() == 1


def _expiring_in(certificate, days):
    valid_until = timezone.localdate() + timedelta(days=days)
    Certificate.objects.filter(pk=certificate.pk).update(
        valid_from=valid_until - timedelta(days=3 * 365), valid_until=valid_until
    )


def test_a_reminder_missed_on_its_day_is_sent_the_next_run_with_the_days_left(certificate):
    from certportal.models import Notice

    _expiring_in(certificate, 88)  # the task did not run 90 and 89 days before
    assert services.send_expiry_reminders() == 1
    assert Notice.objects.filter(user=certificate.holder, title__contains="88 天后到期").exists()
    assert services.send_expiry_reminders() == 0
    _expiring_in(certificate, 25)  # and missed the 30-day one too
    assert services.send_expiry_reminders() == 1
    assert Notice.objects.filter(user=certificate.holder, title__contains="25 天后到期").exists()
    assert services.send_expiry_reminders() == 0


def test_only_the_latest_due_reminder_is_sent_when_both_were_missed(certificate):
    from certportal.models import Notice

    _expiring_in(certificate, 20)
    assert services.send_expiry_reminders() == 1
    assert Notice.objects.filter(user=certificate.holder, title__contains="到期").count() == 1


def test_no_reminder_for_an_expired_certificate_or_one_being_renewed(certificate):
    _expiring_in(certificate, -1)
    assert services.send_expiry_reminders() == 0
    _expiring_in(certificate, 30)
    Certificate.objects.filter(pk=certificate.pk).update(renewal_pending=True)
    assert services.send_expiry_reminders() == 0
