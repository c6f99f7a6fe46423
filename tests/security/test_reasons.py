"""Staff's free text goes to the person (notices, e-mail), onto pages and into the audit log:
an ID number typed into it is refused with why, and nothing changes."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from certificates import services as certificate_services
from certificates.models import CertificateRequest
from certportal.errors import DomainError
from certportal.models import AuditEvent, Notice
from certportal.pii import contains_id_number
from exams import services as exam_services
from renewals import services as renewal_services
from tests.exams.fixtures import make_session

pytestmark = pytest.mark.django_db


def test_an_id_number_is_told_apart_from_other_numbers(certificate):
    number = certificate.holder_id_number
    assert contains_id_number(f"核对身份证{number}后退回")
    assert contains_id_number(f"号码 {number.lower()}")
    wrong_check = number[:17] + ("0" if number[17] != "0" else "1")
    assert not contains_id_number(f"编号 {wrong_check}")  # not an ID number
    assert not contains_id_number(f"准考证号 20263505050001{number[:6]}")  # a longer code
    assert not contains_id_number(f"证书 {certificate.number}")
    # Next to letters, and in full-width digits as a Chinese input method types them.
    assert contains_id_number(f"核查冒用身份证ID{number}的情况")
    full_width = number.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
    assert contains_id_number(f"号码{full_width}")
    # In groups, as numbers are copied; not other grouped numbers.
    assert contains_id_number(" ".join(number[i : i + 4] for i in range(0, 18, 4)))
    assert contains_id_number(f"{number[:6]}-{number[6:14]}-{number[14:]}")
    assert not contains_id_number("理论 60 70 80 90 实操 55 60 70 80 90 缺考 0")
    assert not contains_id_number("2026-11-23 08:30 至 2026-11-24 17:30")


def test_masking_catches_every_spelling(certificate):
    from certportal.exports import mask_id_numbers
    from certportal.pii import mask_id_number

    number = certificate.holder_id_number
    full_width = number.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
    spaced = " ".join(number[i : i + 4] for i in range(0, 18, 4))
    masked = mask_id_numbers(f"（冒用）ID{number}；{full_width}；{spaced}。")
    shown = mask_id_number(number)
    assert masked == f"（冒用）ID{shown}；{shown}；{shown}。"


def test_refusing_a_certificate_request_with_an_id_number_in_the_reason_is_refused(
    passed, authority_staff
):
    number = passed.applicant.profile.id_number
    request = certificate_services.certificate_request_submit(
        application=passed, actor=passed.applicant
    )
    with pytest.raises(DomainError, match="不要填写身份证号码"):
        certificate_services.certificate_request_reject(
            request=request, actor=authority_staff, reason=f"身份证{number}不符"
        )
    request.refresh_from_db()
    assert request.status == CertificateRequest.Status.SUBMITTED and not request.reason


def test_every_decision_refuses_a_reason_holding_an_id_number(
    trainer, authority_staff, submitted_renewal, assessor, crane, centre
):
    from tests.exams.fixtures import make_candidate, medical

    certificate = submitted_renewal.certificate
    applicant = make_candidate()
    submitted = exam_services.application_submit(
        application=medical(
            exam_services.application_create(
                applicant=applicant,
                trade=crane,
                assessment_institution=centre,
                training_institution=trainer.staff_membership.institution,
            )
        ),
        actor=applicant,
    )
    number = certificate.holder_id_number
    reason = f"经核对，身份证号{number}与原件不符"
    session = make_session(assessor, crane, centre)
    exam_services.session_submit(session=session, actor=assessor)
    before = (AuditEvent.objects.count(), Notice.objects.count())
    decisions = [
        lambda: exam_services.application_return(
            application=submitted, actor=trainer, reason=reason
        ),
        lambda: exam_services.application_reject(
            application=submitted, actor=trainer, reason=reason
        ),
        lambda: certificate_services.certificate_suspend(
            certificate=certificate, actor=authority_staff, reason=reason
        ),
        lambda: renewal_services.renewal_return(
            renewal=submitted_renewal, actor=authority_staff, reason=reason
        ),
        lambda: exam_services.session_return(session=session, actor=authority_staff, reason=reason),
    ]
    for decide in decisions:
        with pytest.raises(DomainError, match="不要填写身份证号码") as exc:
            decide()
        assert number not in exc.value.message
    with pytest.raises(ValidationError, match="不要填写身份证号码"):
        renewal_services.conduct_record_create(
            actor=authority_staff,
            certificate=certificate,
            kind="violation",
            occurred_on=timezone.localdate(),
            description=reason,
        )
    assert (AuditEvent.objects.count(), Notice.objects.count()) == before
    submitted.refresh_from_db()
    certificate.refresh_from_db()
    submitted_renewal.refresh_from_db()
    assert submitted.status == "submitted" and certificate.status == "01"
    assert submitted_renewal.status == "submitted"
