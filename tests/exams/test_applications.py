from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from applicants.models import Profile
from certificates.models import Certificate
from certificates.services import (
    certificate_issue,
    certificate_request_reject,
    certificate_request_submit,
    certificate_suspend,
)
from certportal.errors import DomainError
from certportal.models import AuditEvent, Notice
from exams import services
from exams.models import Authority, ExamApplication, Institution, Policy, Trade
from exams.services import NotEligible
from tests.exams.fixtures import hold, make_candidate, medical
from tests.factories import staff_factory

pytestmark = pytest.mark.django_db
S = ExamApplication.Status


def events(application, action):
    return AuditEvent.objects.filter(action=action, object_id=str(application.pk))


# --- create ------------------------------------------------------------------------------


def test_create_needs_a_profile(applicant, crane, centre, school):
    with pytest.raises(DomainError, match="实名信息"):
        services.application_create(
            applicant=applicant,
            trade=crane,
            assessment_institution=centre,
            training_institution=school,
        )


def test_create_refuses_a_second_open_application_of_the_trade(draft, crane, centre, school):
    with pytest.raises(DomainError, match="不能重复报名"):
        services.application_create(
            applicant=draft.applicant,
            trade=crane,
            assessment_institution=centre,
            training_institution=school,
        )
    assert ExamApplication.objects.count() == 1


def test_create_refuses_a_trade_the_authority_does_not_examine(candidate):
    ningbo_centre = Institution.objects.get(name="宁波示例建设工程考核中心")
    quanzhou_only = Trade.objects.get(name="高处作业吊篮操作工")
    with pytest.raises(ValidationError) as exc:
        services.application_create(
            applicant=candidate,
            trade=quanzhou_only,
            assessment_institution=ningbo_centre,
            training_institution=Institution.objects.get(name="宁波示例建筑安全培训学校"),
        )
    assert "不考核" in " ".join(exc.value.message_dict["trade"])


def test_create_requires_a_training_institution_where_the_policy_says_so(candidate, crane, centre):
    with pytest.raises(ValidationError) as exc:
        services.application_create(applicant=candidate, trade=crane, assessment_institution=centre)
    assert "培训机构" in " ".join(exc.value.message_dict["training_institution"])


def test_medical_certificate_is_checked_by_content_and_date(draft):
    with pytest.raises(ValidationError):
        services.application_attach_medical(
            application=draft,
            actor=draft.applicant,
            data=b"<html></html>",
            exam_date=timezone.localdate(),
        )
    with pytest.raises(ValidationError, match="晚于今天"):
        medical(draft, days_ago=-1)


# --- submit ------------------------------------------------------------------------------


def test_submit_moves_to_submitted_locks_profile_and_audits(draft):
    application = services.application_submit(application=draft, actor=draft.applicant)
    assert application.status == S.SUBMITTED and application.submitted_at
    profile = Profile.objects.get(user=draft.applicant)
    assert profile.id_number_locked and profile.materials_locked
    event = events(draft, "exams.application.submitted").get()
    assert (event.from_state, event.to_state, event.actor) == (
        "draft",
        "submitted",
        draft.applicant,
    )


def test_submit_twice_changes_nothing(submitted):
    again = services.application_submit(application=submitted, actor=submitted.applicant)
    assert again.status == S.SUBMITTED
    assert events(submitted, "exams.application.submitted").count() == 1


def test_submit_from_a_wrong_state_is_refused(approved):
    with pytest.raises(DomainError, match="审核通过"):
        services.application_submit(application=approved, actor=approved.applicant)


def test_submit_refuses_with_every_failing_check(crane, centre, school):
    user = make_candidate(materials=False, education="primary")
    application = medical(
        services.application_create(
            applicant=user, trade=crane, assessment_institution=centre, training_institution=school
        ),
        days_ago=120,
    )
    with pytest.raises(NotEligible) as exc:
        services.application_submit(application=application, actor=user)
    codes = {c.code for c in exc.value.checks}
    assert {"education", "medical_expired", "materials"} <= codes
    application.refresh_from_db()
    assert application.status == S.DRAFT
    assert not events(application, "exams.application.submitted").exists()


def test_submit_needs_the_medical_certificate(candidate, crane, centre, school):
    application = services.application_create(
        applicant=candidate, trade=crane, assessment_institution=centre, training_institution=school
    )
    with pytest.raises(DomainError, match="体检"):
        services.application_submit(application=application, actor=candidate)


def test_only_the_applicant_submits(draft, other_applicant):
    with pytest.raises(DomainError):
        services.application_submit(application=draft, actor=other_applicant)


def test_a_passed_exam_awaiting_its_certificate_blocks_a_new_one_of_the_trade(
    passed, authority_staff, crane, centre, school
):
    user = passed.applicant
    again = medical(
        services.application_create(
            applicant=user, trade=crane, assessment_institution=centre, training_institution=school
        )
    )

    with pytest.raises(NotEligible) as exc:
        services.application_submit(application=again, actor=user)
    (refusal,) = exc.value.checks
    assert refusal.message == "您本工种已考核合格，证书正待发证机关制发，不能重复报考。"
    again.refresh_from_db()
    assert again.status == S.DRAFT

    # Once issued, the same draft is refused because the certificate is held.
    certificate_issue(application=passed, actor=authority_staff)
    with pytest.raises(NotEligible) as exc:
        services.application_submit(application=again, actor=user)
    (refusal,) = exc.value.checks
    assert "已持有本工种有效或暂扣中的证书" in refusal.message


def test_a_suspended_certificate_blocks_a_new_exam_until_its_validity_ends(
    passed, authority_staff, crane, centre, school
):
    user = passed.applicant
    # A draft made before the certificate was issued (one made after is refused at once).
    again = medical(
        services.application_create(
            applicant=user, trade=crane, assessment_institution=centre, training_institution=school
        )
    )
    certificate = certificate_issue(application=passed, actor=authority_staff)
    certificate_suspend(certificate=certificate, actor=authority_staff, reason="违章作业，暂扣")
    with pytest.raises(DomainError, match="不能重复报考"):
        services.application_create(
            applicant=user, trade=crane, assessment_institution=centre, training_institution=school
        )
    with pytest.raises(NotEligible) as exc:
        services.application_submit(application=again, actor=user)
    (refusal,) = exc.value.checks
    assert "已持有本工种有效或暂扣中的证书" in refusal.message

    # Past its date but kept by a renewal submitted in time: still held.
    today = timezone.localdate()
    Certificate.objects.filter(pk=certificate.pk).update(
        valid_from=today - timedelta(days=731),
        valid_until=today - timedelta(days=1),
        renewal_pending=True,
    )
    with pytest.raises(NotEligible):
        services.application_submit(application=again, actor=user)

    # Its validity ends while suspended: it is expired at once (before the nightly sweep
    # stores it), and the holder may sit the exam again.
    Certificate.objects.filter(pk=certificate.pk).update(renewal_pending=False)
    assert Certificate.objects.get(pk=certificate.pk).status == "02"
    assert services.application_submit(application=again, actor=user).status == S.SUBMITTED


def test_a_certificate_the_authority_refused_no_longer_blocks_a_new_exam(
    passed, authority_staff, crane, centre, school
):
    request = certificate_request_submit(application=passed, actor=passed.applicant)
    certificate_request_reject(request=request, actor=authority_staff, reason="材料不实")
    again = medical(
        services.application_create(
            applicant=passed.applicant,
            trade=crane,
            assessment_institution=centre,
            training_institution=school,
        )
    )

    assert services.application_submit(application=again, actor=again.applicant).status == (
        S.SUBMITTED
    )


def test_a_failed_exam_does_not_block_a_new_one_of_the_trade(
    scheduled, assessor, authority_staff, crane, centre, school
):
    hold(scheduled.session)
    services.score_record(application=scheduled, actor=assessor, theory=Decimal(40), practical=None)
    services.session_publish_scores(session=scheduled.session, actor=authority_staff)
    user = scheduled.applicant
    again = medical(
        services.application_create(
            applicant=user, trade=crane, assessment_institution=centre, training_institution=school
        )
    )

    assert services.application_submit(application=again, actor=user).status == S.SUBMITTED


# --- institution review, authority approval ---------------------------------------------


def test_training_institution_approves_first(submitted, trainer):
    application = services.application_institution_approve(application=submitted, actor=trainer)
    assert application.status == S.INSTITUTION_APPROVED
    assert events(submitted, "exams.application.institution_approved").count() == 1
    services.application_institution_approve(application=application, actor=trainer)
    assert events(submitted, "exams.application.institution_approved").count() == 1


def test_other_institution_and_authority_cannot_do_the_first_review(
    submitted, assessor, authority_staff, other_institution_staff
):
    for actor in (assessor, authority_staff, other_institution_staff):
        with pytest.raises(DomainError, match="无权"):
            services.application_institution_approve(application=submitted, actor=actor)
    submitted.refresh_from_db()
    assert submitted.status == S.SUBMITTED


def test_authority_approves_after_the_first_review_only(
    submitted, institution_approved, authority_staff
):
    approved = services.application_approve(application=institution_approved, actor=authority_staff)
    assert approved.status == S.APPROVED and approved.approved_at
    assert (
        services.application_approve(application=approved, actor=authority_staff).status
        == S.APPROVED
    )
    assert events(approved, "exams.application.approved").count() == 1


def test_authority_cannot_skip_the_first_review(submitted, authority_staff):
    with pytest.raises(DomainError, match="培训机构初审通过"):
        services.application_approve(application=submitted, actor=authority_staff)


def test_authority_without_training_stage_approves_submitted(
    candidate, crane, centre, authority_staff
):
    Policy.objects.filter(authority_id=centre.authority.parent_id).update(
        uses_training_institution=False
    )
    application = medical(
        services.application_create(applicant=candidate, trade=crane, assessment_institution=centre)
    )
    application = services.application_submit(application=application, actor=candidate)
    assert (
        services.application_approve(application=application, actor=authority_staff).status
        == S.APPROVED
    )


def test_other_authority_cannot_approve(institution_approved, other_authority_staff):
    with pytest.raises(DomainError, match="无权"):
        services.application_approve(application=institution_approved, actor=other_authority_staff)


def test_approval_checks_eligibility_again(institution_approved, authority_staff):
    ExamApplication.objects.filter(pk=institution_approved.pk).update(
        medical_exam_date=timezone.localdate() - timedelta(days=100)
    )
    with pytest.raises(NotEligible) as exc:
        services.application_approve(application=institution_approved, actor=authority_staff)
    assert [c.code for c in exc.value.checks] == ["medical_expired"]


# --- return, reject, withdraw ------------------------------------------------------------


def test_return_needs_a_reason_and_tells_the_applicant(submitted, trainer):
    with pytest.raises(DomainError, match="原因"):
        services.application_return(application=submitted, actor=trainer, reason="  ")
    returned = services.application_return(
        application=submitted, actor=trainer, reason="照片背景不是白色。"
    )
    assert returned.status == S.RETURNED and returned.status_reason == "照片背景不是白色。"
    assert not Profile.objects.get(user=submitted.applicant).materials_locked
    # The reason's own full stop is not doubled by the sentence around it.
    notice = Notice.objects.get(user=submitted.applicant, body__contains="照片背景不是白色")
    assert "照片背景不是白色。请修改后重新提交。" in notice.body and "。。" not in notice.body
    assert events(submitted, "exams.application.returned").get().reason == "照片背景不是白色。"


def test_returned_application_is_corrected_and_resubmitted(submitted, trainer):
    services.application_return(application=submitted, actor=trainer, reason="补充体检报告")
    medical(submitted, days_ago=1)
    again = services.application_submit(application=submitted, actor=submitted.applicant)
    assert again.status == S.SUBMITTED and again.status_reason == ""


def test_reject_is_final(institution_approved, authority_staff):
    rejected = services.application_reject(
        application=institution_approved, actor=authority_staff, reason="材料虚假"
    )
    assert rejected.status == S.REJECTED
    services.application_reject(application=rejected, actor=authority_staff, reason="材料虚假")
    assert events(rejected, "exams.application.rejected").count() == 1
    with pytest.raises(DomainError):
        services.application_approve(application=rejected, actor=authority_staff)
    with pytest.raises(DomainError):
        services.application_submit(application=rejected, actor=rejected.applicant)


def test_withdraw_before_scheduling(submitted):
    withdrawn = services.application_withdraw(application=submitted, actor=submitted.applicant)
    assert withdrawn.status == S.WITHDRAWN
    assert not Profile.objects.get(user=submitted.applicant).materials_locked


def test_withdraw_refused_once_scheduled(scheduled):
    with pytest.raises(DomainError, match="已安排考试"):
        services.application_withdraw(application=scheduled, actor=scheduled.applicant)


def test_withdrawn_trade_can_be_applied_for_again(submitted, crane, centre, school):
    services.application_withdraw(application=submitted, actor=submitted.applicant)
    again = services.application_create(
        applicant=submitted.applicant,
        trade=crane,
        assessment_institution=centre,
        training_institution=school,
    )
    assert again.status == S.DRAFT


def test_staff_of_another_institution_cannot_return(submitted):
    other = staff_factory(institution=Institution.objects.get(name="宁波示例建筑安全培训学校"))
    with pytest.raises(DomainError, match="无权"):
        services.application_return(application=submitted, actor=other, reason="x")


def test_institution_staff_never_act_for_a_province_level_authority(crane):
    """Beijing's institutions sit directly under a province-level authority, which has no
    parent: staff of an institution (who have no authority) must not pass as its staff."""
    beijing = Authority.objects.get(pk=110000)
    centre = Institution.objects.create(
        name="北京示例考核中心", kind=Institution.Kind.ASSESSMENT, authority=beijing
    )
    school = Institution.objects.create(
        name="北京示例培训学校", kind=Institution.Kind.TRAINING, authority=beijing
    )
    trainer, assessor = staff_factory(institution=school), staff_factory(institution=centre)
    elsewhere = staff_factory(
        institution=Institution.objects.get(name="泉州市住建行业中介服务中心")
    )
    candidate = make_candidate(username="13911112222")
    application = medical(
        services.application_create(
            applicant=candidate,
            trade=crane,
            assessment_institution=centre,
            training_institution=school,
        )
    )
    application = services.application_submit(application=application, actor=candidate)
    application = services.application_institution_approve(application=application, actor=trainer)
    assert application.status == S.INSTITUTION_APPROVED
    for actor in (trainer, assessor, elsewhere):
        with pytest.raises(DomainError, match="无权"):
            services.application_approve(application=application, actor=actor)
        with pytest.raises(DomainError, match="无权"):
            services.application_reject(application=application, actor=actor, reason="测试")
    application.refresh_from_db()
    assert application.status == S.INSTITUTION_APPROVED
    assert not events(application, "exams.application.approved").exists()
    approved = services.application_approve(
        application=application, actor=staff_factory(authority=beijing)
    )
    assert approved.status == S.APPROVED


def test_a_medical_certificate_is_seen_only_through_its_own_application(
    client, submitted, assessor, trainer, school
):
    """A medical certificate belongs to one application (SPEC 3): staff who review another
    application of the same person may see the person's photo and papers, not it."""
    other_centre = Institution.objects.create(
        name="泉州第二考核中心", kind=Institution.Kind.ASSESSMENT, authority=submitted.authority
    )
    second = medical(
        services.application_create(
            applicant=submitted.applicant,
            trade=Trade.objects.get(code="01"),
            assessment_institution=other_centre,
            training_institution=school,
        )
    )
    second = services.application_submit(application=second, actor=second.applicant)
    own, theirs = submitted.medical_certificate, second.medical_certificate
    photo = submitted.applicant.materials.get(kind="photo")

    def status(user, material):
        client.force_login(user)
        return client.get(f"/staff/materials/{material.pk}/file/").status_code

    assert [status(assessor, m) for m in (photo, own, theirs)] == [200, 200, 404]
    second_assessor = staff_factory(institution=other_centre)
    assert [status(second_assessor, m) for m in (photo, own, theirs)] == [200, 404, 200]
    assert [status(trainer, m) for m in (own, theirs)] == [200, 200]  # trains for both
    client.force_login(assessor)
    profile_page = client.get(
        f"/admin/applicants/profile/{submitted.applicant.profile.pk}/change/"
    ).content.decode()
    assert f"/staff/materials/{theirs.pk}/" not in profile_page


def test_materials_are_judged_by_the_authoritys_policy(client, draft):
    """The policy's material limits (editable in the admin) apply: at submission, to what is
    stored (the ID card scan's pixels); at upload, those of the authority of the person's
    latest open application (the photo's size)."""
    from applicants.models import Material
    from tests.applicants.corpus import good_photo, image_bytes, scan

    user = draft.applicant
    # The stored scan is 856×540: within the defaults (900×600), not within 800×600.
    Policy.objects.create(
        authority=draft.authority, photo_min_kb=40, photo_max_kb=100, id_scan_max_long_px=800
    )
    application = medical(draft)
    with pytest.raises(NotEligible) as exc:
        services.application_submit(application=application, actor=user)
    [refusal] = [c for c in exc.value.checks if c.code == "materials"]
    assert "身份证扫描件（须在 800×600 像素以内）" in refusal.message

    client.force_login(user)
    page = client.get("/me/materials/").content.decode()
    assert "大于 40 KB 且小于 100 KB" in page and "800×600 像素以内" in page
    response = client.post(
        "/me/materials/", {"kind": "photo", "file": _upload("p.jpg", good_photo(35))}
    )
    assert response.status_code == 400 and "40 KB" in response.content.decode()
    for kind, data in (("photo", good_photo(60)), ("id_scan", image_bytes(scan(780, 500), "JPEG"))):
        response = client.post("/me/materials/", {"kind": kind, "file": _upload("m.jpg", data)})
        assert response.status_code == 302, (kind, response.content.decode()[:300])
    assert Material.objects.get(owner=user, kind="id_scan").width == 780
    assert services.application_submit(application=application, actor=user).status == S.SUBMITTED


def _upload(name, data):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="image/jpeg")
