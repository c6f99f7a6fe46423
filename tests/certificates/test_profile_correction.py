"""The authority corrects a person's name and ID number (the applicant is told to come to it
once the number is locked): the profile, the applications in progress and the certificates
held change together, or nothing does."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from applicants.demo import demo_id_number
from applicants.models import Profile
from certificates.models import Certificate
from certificates.services import profile_correct
from certportal.errors import DomainError
from certportal.models import AuditEvent, Notice
from exams.models import ExamApplication
from tests.exams.test_tickets import need_poppler, pdftotext
from verification import services as lookups

pytestmark = pytest.mark.django_db

NEW_NUMBER = demo_id_number("35050319860712123")  # born 12 July 1986, a man
REASON = "本人持身份证原件到窗口核验，原登记号码有误"


def snapshot(user):
    profile = Profile.objects.get(user=user)
    return (
        profile.name,
        profile.id_number,
        profile.birth_date,
        list(Certificate.objects.filter(holder=user).values_list("holder_name", "content_version")),
        list(
            ExamApplication.objects.filter(applicant=user).values_list("submitted_name", flat=True)
        ),
        # Corrections made (a refused attempt is recorded as such: asserted where it matters).
        AuditEvent.objects.filter(action__contains="correct")
        .exclude(action="applicants.profile.correction_refused")
        .count(),
    )


def test_a_submitted_application_takes_the_corrected_name(submitted, authority_staff):
    profile = Profile.objects.get(user=submitted.applicant)

    corrected = profile_correct(
        profile=profile, actor=authority_staff, name="王晓明", id_number=NEW_NUMBER, reason=REASON
    )

    assert corrected.name == "王晓明" and corrected.id_number == NEW_NUMBER
    assert str(corrected.birth_date) == "1986-07-12" and corrected.sex == "M"
    submitted.refresh_from_db()
    assert submitted.submitted_name == "王晓明"
    event = AuditEvent.objects.get(action="applicants.profile.corrected")
    assert (event.actor, event.reason) == (authority_staff, REASON)
    assert event.data["fields"] == ["name", "id_number"]
    assert NEW_NUMBER not in str(event.data) and "王晓明" not in str(event.data)
    notice = Notice.objects.get(user=submitted.applicant)
    assert "姓名、身份证号码" in notice.body and NEW_NUMBER not in notice.body
    assert "今后请用更正后的身份证号码登录" not in notice.body  # a mobile login stays


def test_an_account_registered_by_id_number_is_told_its_login_changed(
    submitted, authority_staff, client
):
    """Its login is the number: after a correction the old number opens nothing, and the
    notice says which one does."""
    from applicants.models import User

    user = submitted.applicant
    User.objects.filter(pk=user.pk).update(username="id-0123456789abcdef")
    profile = Profile.objects.get(user=user)
    old_number = profile.id_number
    profile_correct(
        profile=profile,
        actor=authority_staff,
        name=profile.name,
        id_number=NEW_NUMBER,
        reason=REASON,
    )
    notice = Notice.objects.get(user=user)
    assert "今后请用更正后的身份证号码登录" in notice.body and NEW_NUMBER not in notice.body
    from tests.factories import PASSWORD

    assert (
        client.post("/accounts/login/", {"username": old_number, "password": PASSWORD}).status_code
        == 200
    )
    assert (
        client.post("/accounts/login/", {"username": NEW_NUMBER, "password": PASSWORD}).status_code
        == 302
    )


def test_a_held_certificate_is_corrected_rendered_again_and_found_by_the_new_pair(
    certificate, authority_staff, private_media_root, django_capture_on_commit_callbacks
):
    old_number = certificate.holder_id_number
    profile = Profile.objects.get(user=certificate.holder)

    with django_capture_on_commit_callbacks(execute=True):
        profile_correct(
            profile=profile,
            actor=authority_staff,
            name="王小明",
            id_number=NEW_NUMBER,
            reason=REASON,
        )

    certificate.refresh_from_db()
    assert certificate.holder_id_number == NEW_NUMBER
    assert str(certificate.holder_birth_date) == "1986-07-12"
    assert certificate.content_version == certificate.pdf_version == 2
    assert AuditEvent.objects.filter(
        action="certificates.certificate.holder_corrected", object_id=str(certificate.pk)
    ).exists()
    found = lookups.verify_person(name="王小明", id_number=NEW_NUMBER, address=None, kind="api")
    assert [c.number for c in found.certificates] == [certificate.number]
    gone = lookups.verify_person(name="王小明", id_number=old_number, address=None, kind="api")
    assert not gone.found


def test_a_corrected_birth_date_past_the_age_limit_ends_the_validity_before_it(
    certificate, authority_staff, django_capture_on_commit_callbacks
):
    """No validity reaches the holder's age limit (SPEC 4.5): a correction that makes the
    holder older ends the certificate the day before the limit, its period too, audited and
    told; one that changes nothing of the kind leaves the dates alone."""
    from datetime import timedelta

    from certificates.models import ValidityPeriod
    from certificates.selectors import holder_age_limit

    old_until = certificate.valid_until
    # A man (odd sequence) born on 1 January of a year that reaches the retirement age
    # between now and the certificate's end.
    from exams.eligibility import retirement_date

    year = next(
        y
        for y in range(1955, 1980)
        if date.today() < retirement_date(date(y, 1, 1), "M") < old_until
    )
    older = demo_id_number(f"350503{year}0101123")
    profile = Profile.objects.get(user=certificate.holder)
    with django_capture_on_commit_callbacks(execute=True):
        profile_correct(
            profile=profile, actor=authority_staff, name="王小明", id_number=older, reason=REASON
        )
    certificate.refresh_from_db()
    limit = holder_age_limit(certificate)
    assert limit <= old_until
    assert certificate.valid_until == limit - timedelta(days=1)
    assert (
        ValidityPeriod.objects.get(certificate=certificate).valid_until == certificate.valid_until
    )
    event = AuditEvent.objects.get(action="certificates.certificate.validity_capped")
    assert event.data == {"from": old_until.isoformat(), "to": certificate.valid_until.isoformat()}
    assert Notice.objects.filter(
        user=certificate.holder, title__startswith="证书有效期已调整"
    ).exists()


def test_a_correction_within_the_age_limit_keeps_the_validity(certificate, authority_staff):
    old_until = certificate.valid_until
    profile_correct(
        profile=Profile.objects.get(user=certificate.holder),
        actor=authority_staff,
        name="王小明",
        id_number=NEW_NUMBER,
        reason=REASON,
    )
    certificate.refresh_from_db()
    assert certificate.valid_until == old_until
    assert not AuditEvent.objects.filter(action="certificates.certificate.validity_capped").exists()


def test_a_scheduled_candidates_ticket_is_drawn_again_with_the_corrected_name(
    scheduled, authority_staff, django_capture_on_commit_callbacks, tmp_path
):
    scheduled.refresh_from_db()
    old_ticket = scheduled.ticket_pdf.name
    assert old_ticket

    with django_capture_on_commit_callbacks(execute=True):
        profile_correct(
            profile=Profile.objects.get(user=scheduled.applicant),
            actor=authority_staff,
            name="王晓明",
            id_number=NEW_NUMBER,
            reason=REASON,
        )

    scheduled.refresh_from_db()
    assert scheduled.ticket_pdf.name != old_ticket
    need_poppler()
    with scheduled.ticket_pdf.open("rb") as handle:
        text = pdftotext(handle.read(), tmp_path)
    assert "王晓明" in text and "王小明" not in text


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"id_number": "350503198607121230"}, "id_number", "校验"),
        ({"name": "王1"}, "name", "数字"),
        ({"reason": "  "}, "reason", "更正原因"),
        ({"reason": "原号码 350503198506121233 有误"}, "reason", "不要填写身份证号码"),
    ],
)
def test_bad_input_is_refused_field_by_field_and_changes_nothing(
    certificate, authority_staff, fields, field, message
):
    before = snapshot(certificate.holder)
    arguments = {"name": "王晓明", "id_number": NEW_NUMBER, "reason": REASON, **fields}

    with pytest.raises(ValidationError) as exc:
        profile_correct(
            profile=Profile.objects.get(user=certificate.holder), actor=authority_staff, **arguments
        )

    assert message in " ".join(exc.value.message_dict[field])
    assert snapshot(certificate.holder) == before


def test_nothing_to_correct_is_said_so(certificate, authority_staff):
    profile = Profile.objects.get(user=certificate.holder)
    with pytest.raises(DomainError, match="没有需要更正的内容"):
        profile_correct(
            profile=profile,
            actor=authority_staff,
            name=profile.name,
            id_number=profile.id_number.lower(),
            reason=REASON,
        )


def test_a_number_another_account_registered_is_refused(certificate, authority_staff):
    from tests.applicants.conftest import OTHER_ID_NUMBER
    from tests.factories import user_factory

    other = user_factory(username="13900000077")
    Profile.objects.create(
        user=other,
        name="张三丰",
        id_number=OTHER_ID_NUMBER,
        birth_date="1990-01-01",
        sex="F",
        mobile="13900000077",
        education="junior",
    )
    before = snapshot(certificate.holder)

    with pytest.raises(ValidationError) as exc:
        profile_correct(
            profile=Profile.objects.get(user=certificate.holder),
            actor=authority_staff,
            name="王小明",
            id_number=OTHER_ID_NUMBER,
            reason=REASON,
        )

    assert "不能更正为该号码" in exc.value.message_dict["id_number"][0]
    assert snapshot(certificate.holder) == before
    # The attempt is on record: who tried, on whose profile, which field; never the number.
    from certportal.models import AuditEvent

    event = AuditEvent.objects.get(action="applicants.profile.correction_refused")
    assert event.actor == authority_staff and event.data == {"fields": ["id_number"], "code": ""}
    assert OTHER_ID_NUMBER not in str(event.data) + event.reason + event.object_repr


def test_a_number_an_account_registered_with_is_refused(certificate, authority_staff):
    """An account registered with its ID number holds it before it has a profile: staff
    cannot correct another person's profile to it (the login would point at two people)."""
    from applicants.services import account_register
    from tests.applicants.conftest import OTHER_ID_NUMBER

    account_register(id_number=OTHER_ID_NUMBER, password="Sicher-2026-pass")
    before = snapshot(certificate.holder)
    with pytest.raises(ValidationError) as exc:
        profile_correct(
            profile=Profile.objects.get(user=certificate.holder),
            actor=authority_staff,
            name="王小明",
            id_number=OTHER_ID_NUMBER,
            reason=REASON,
        )
    assert "不能更正为该号码" in exc.value.message_dict["id_number"][0]
    assert snapshot(certificate.holder) == before


def test_a_number_with_someone_elses_certificate_is_refused(certificate, superuser):
    from tests.factories import user_factory

    # An imported certificate no account is linked to, under a number no profile has.
    Certificate.objects.filter(pk=certificate.pk).update(holder=None)
    first = Profile.objects.get(user=certificate.holder)
    first.id_number = demo_id_number("35050319850612124")
    first.save()
    mover = user_factory(username="13900000066")
    Profile.objects.create(
        user=mover,
        name="李四",
        id_number=NEW_NUMBER,
        birth_date="1986-07-12",
        sex="M",
        mobile="13900000066",
        education="junior",
    )

    with pytest.raises(ValidationError) as exc:
        profile_correct(
            profile=Profile.objects.get(user=mover),
            actor=superuser,
            name="李四",
            id_number=certificate.holder_id_number,
            reason=REASON,
        )

    assert "不能更正为该号码" in exc.value.message_dict["id_number"][0]
    assert Profile.objects.get(user=mover).id_number == NEW_NUMBER


def test_only_authority_staff_of_the_persons_scope_may_correct(
    certificate, institution_staff, other_authority_staff, authority_staff
):
    profile = Profile.objects.get(user=certificate.holder)
    before = snapshot(certificate.holder)
    for actor in (institution_staff, other_authority_staff, certificate.holder):
        with pytest.raises(DomainError, match="无权"):
            profile_correct(
                profile=profile, actor=actor, name="王晓明", id_number=NEW_NUMBER, reason=REASON
            )
    assert snapshot(certificate.holder) == before


def test_a_certificate_of_an_authority_out_of_scope_stops_the_whole_correction(
    certificate, authority_staff, ningbo
):
    Certificate.objects.filter(pk=certificate.pk).update(authority=ningbo)
    before = snapshot(certificate.holder)

    with pytest.raises(DomainError, match=r"宁波.*须由该发证机关更正"):
        profile_correct(
            profile=Profile.objects.get(user=certificate.holder),
            actor=authority_staff,
            name="王晓明",
            id_number=NEW_NUMBER,
            reason=REASON,
        )

    assert snapshot(certificate.holder) == before


def test_an_application_in_progress_elsewhere_stops_the_whole_correction(
    submitted, authority_staff, ningbo
):
    ExamApplication.objects.filter(pk=submitted.pk).update(authority=ningbo)
    # The person stays in scope through another, decided application here.
    decided = ExamApplication.objects.get(pk=submitted.pk)
    decided.pk = None
    decided.status = ExamApplication.Status.WITHDRAWN
    decided.authority = authority_staff.staff_membership.authority
    decided.save()
    before = snapshot(submitted.applicant)

    with pytest.raises(DomainError, match=r"办理中的报名.*须由该发证机关更正"):
        profile_correct(
            profile=Profile.objects.get(user=submitted.applicant),
            actor=authority_staff,
            name="王晓明",
            id_number=NEW_NUMBER,
            reason=REASON,
        )

    assert snapshot(submitted.applicant) == before


def test_the_holder_of_an_imported_certificate_only_is_found_and_corrected(
    client, certificate, authority_staff
):
    # Issued before the portal: no application anywhere, only the certificate.
    Certificate.objects.filter(pk=certificate.pk).update(application=None, is_legacy=True)
    ExamApplication.objects.filter(applicant=certificate.holder).delete()
    profile = Profile.objects.get(user=certificate.holder)
    client.force_login(authority_staff)

    change = client.get(reverse("admin:applicants_profile_change", args=[profile.pk]))
    assert change.status_code == 200
    done = client.post(
        reverse("admin:applicants_profile_correct", args=[profile.pk]),
        {"name": "王小明", "id_number": NEW_NUMBER, "reason": REASON},
    )

    assert done.status_code == 302
    certificate.refresh_from_db()
    assert certificate.holder_id_number == NEW_NUMBER


def test_issuers_see_their_holders_papers_but_not_a_medical_certificate_of_elsewhere(
    client, certificate, authority_staff, ningbo
):
    from applicants.models import Material
    from exams import services as exam_services
    from exams.models import Institution, Trade
    from tests.exams.fixtures import medical

    # The holder of an imported certificate (no application here) applies in Ningbo.
    Certificate.objects.filter(pk=certificate.pk).update(application=None, is_legacy=True)
    ExamApplication.objects.filter(applicant=certificate.holder).delete()
    Material.objects.filter(owner=certificate.holder, kind="medical").delete()
    elsewhere = medical(
        exam_services.application_create(
            applicant=certificate.holder,
            trade=Trade.objects.get(code="01"),
            assessment_institution=Institution.objects.get(name="宁波示例建设工程考核中心"),
            training_institution=Institution.objects.get(name="宁波示例建筑安全培训学校"),
        )
    )
    exam_services.application_submit(application=elsewhere, actor=certificate.holder)
    photo = Material.objects.get(owner=certificate.holder, kind="photo")
    sick_note = Material.objects.get(owner=certificate.holder, kind="medical")
    client.force_login(authority_staff)

    assert client.get(f"/staff/materials/{photo.pk}/file/").status_code == 200
    assert client.get(f"/staff/materials/{sick_note.pk}/file/").status_code == 404


def test_an_unlinked_imported_certificate_under_the_corrected_pair_joins_the_account(
    certificate, superuser
):
    from tests.factories import user_factory

    # Imported under the right number; the person registered with a typo.
    right_number = certificate.holder_id_number
    Certificate.objects.filter(pk=certificate.pk).update(holder=None, is_legacy=True)
    Profile.objects.filter(user=certificate.holder).delete()
    typo = user_factory(username="13900000055")
    Profile.objects.create(
        user=typo,
        name="王小明",
        id_number=NEW_NUMBER,
        birth_date="1986-07-12",
        sex="M",
        mobile="13900000055",
        education="junior",
    )

    profile_correct(
        profile=Profile.objects.get(user=typo),
        actor=superuser,
        name="王小明",
        id_number=right_number,
        reason=REASON,
    )

    certificate.refresh_from_db()
    assert certificate.holder == typo
    linked = AuditEvent.objects.get(
        action="certificates.certificate.holder_linked", object_id=str(certificate.pk)
    )
    assert (linked.actor, linked.data) == (superuser, {"by": "correction"})
    corrected = AuditEvent.objects.get(action="applicants.profile.corrected")
    assert corrected.data["imported_linked"] == 1


# --- the admin page --------------------------------------------------------------------------


def test_the_admin_page_corrects_and_reports(client, certificate, authority_staff):
    profile = Profile.objects.get(user=certificate.holder)
    client.force_login(authority_staff)
    change = client.get(reverse("admin:applicants_profile_change", args=[profile.pk]))
    url = reverse("admin:applicants_profile_correct", args=[profile.pk])
    assert url in change.content.decode()

    page = client.get(url)
    assert page.status_code == 200 and certificate.number in page.content.decode()

    refused = client.post(url, {"name": "王晓明", "id_number": "123", "reason": REASON})
    assert refused.status_code == 400
    assert Profile.objects.get(pk=profile.pk).name == "王小明"

    done = client.post(
        url, {"name": "王晓明", "id_number": NEW_NUMBER, "reason": REASON}, follow=True
    )
    assert "实名信息已更正" in done.content.decode()
    assert Profile.objects.get(pk=profile.pk).name == "王晓明"


@pytest.mark.parametrize("intruder", ["institution_staff", "other_authority_staff"])
def test_the_admin_page_is_not_there_for_others(client, certificate, intruder, request):
    profile = Profile.objects.get(user=certificate.holder)
    client.force_login(request.getfixturevalue(intruder))
    url = reverse("admin:applicants_profile_correct", args=[profile.pk])

    change = client.get(reverse("admin:applicants_profile_change", args=[profile.pk]))
    assert url not in change.content.decode()
    assert client.get(url).status_code == 404
    assert (
        client.post(url, {"name": "王晓明", "id_number": NEW_NUMBER, "reason": REASON}).status_code
        == 404
    )
    assert Profile.objects.get(pk=profile.pk).name == "王小明"
