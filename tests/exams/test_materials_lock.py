"""The materials lock follows every open application, and what was reviewed is what is issued.

Materials are replaceable only while none of the applicant's applications is under review
(SPEC 3). The lock used to be cleared by whichever application left review first, and the
certificate took whatever photo the profile held on the day of issuance.
"""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from applicants.models import Profile
from applicants.services import material_upload, profile_save
from certificates.services import certificate_issue
from certportal.errors import DomainError
from exams import services
from exams.models import ExamApplication, SubmittedMaterial, Trade
from tests.applicants.corpus import good_photo
from tests.exams.fixtures import hold, make_candidate, medical

S = ExamApplication.Status


def _locked(user) -> bool:
    return Profile.objects.get(user=user).materials_locked


def submit_another(user, centre, school):
    """A second application of the same person, another trade (01), submitted."""
    application = services.application_create(
        applicant=user,
        trade=Trade.objects.get(code="01"),
        assessment_institution=centre,
        training_institution=school,
    )
    application = medical(application)
    return services.application_submit(application=application, actor=user)


@pytest.fixture
def second(submitted, centre, school):
    return submit_another(submitted.applicant, centre, school)


@pytest.fixture
def draft_of_other(crane, centre, school):
    """Another person's draft: nothing under review."""
    user = make_candidate(username="13922220000", id17="35050319900101222")
    return services.application_create(
        applicant=user, trade=crane, assessment_institution=centre, training_institution=school
    )


def test_withdrawing_one_application_keeps_the_lock_while_another_is_under_review(
    submitted, second
):
    services.application_withdraw(application=submitted, actor=submitted.applicant)
    assert _locked(submitted.applicant)
    with pytest.raises(DomainError, match="审核中"):
        material_upload(user=submitted.applicant, kind="photo", data=good_photo(50))

    services.application_withdraw(application=second, actor=second.applicant)
    assert not _locked(submitted.applicant)
    material_upload(user=submitted.applicant, kind="photo", data=good_photo(50))


def test_a_rejection_keeps_the_lock_while_another_is_under_review(submitted, second, trainer):
    services.application_reject(application=submitted, actor=trainer, reason="不符合条件")
    assert _locked(submitted.applicant)
    services.application_reject(application=second, actor=trainer, reason="不符合条件")
    assert not _locked(submitted.applicant)


def scan_bytes(colour) -> bytes:

    from tests.applicants.corpus import image_bytes, scan

    image = scan(856, 540)
    image.paste(colour, (20, 20, 120, 120))
    return image_bytes(image, "JPEG", quality=85)


def kept_scan(application) -> bytes:
    kept = SubmittedMaterial.objects.get(application=application, kind="id_scan")
    with kept.file.open("rb") as handle:
        return handle.read()


def test_a_returned_application_can_be_corrected_while_another_is_under_review(
    submitted, second, trainer
):
    """Returned for a blurred ID card scan while the person's other application waits for its
    exam: the scan can be replaced at once, and the other keeps the copy it was submitted
    with. Before, the person had to wait for the other application's exam results."""
    user = submitted.applicant
    reviewed = kept_scan(second)
    services.application_return(application=submitted, actor=trainer, reason="身份证扫描件不清晰")
    assert not _locked(user)

    sharper = scan_bytes((10, 120, 200))
    material_upload(user=user, kind="id_scan", data=sharper)
    assert kept_scan(second) == reviewed  # what its reviewers see did not change

    again = services.application_submit(application=submitted, actor=user)
    assert _locked(user)
    assert kept_scan(again) != reviewed
    with pytest.raises(DomainError, match="审核中"):
        material_upload(user=user, kind="id_scan", data=scan_bytes((200, 10, 10)))


def test_withdrawing_the_returned_application_locks_again_while_another_is_under_review(
    submitted, second, trainer
):
    services.application_return(application=submitted, actor=trainer, reason="学历证明不清晰")
    assert not _locked(submitted.applicant)
    services.application_withdraw(application=submitted, actor=submitted.applicant)
    assert _locked(submitted.applicant)


def test_a_resubmission_replaces_its_copies_and_deletes_the_old_files(
    submitted, trainer, private_media_root, django_capture_on_commit_callbacks
):
    from django.core.files.storage import default_storage

    user = submitted.applicant
    first = SubmittedMaterial.objects.get(application=submitted, kind="id_scan")
    services.application_return(application=submitted, actor=trainer, reason="扫描件不清晰")
    material_upload(user=user, kind="id_scan", data=scan_bytes((10, 120, 200)))
    with django_capture_on_commit_callbacks(execute=True):
        services.application_submit(application=submitted, actor=user)
    kept = SubmittedMaterial.objects.filter(application=submitted)
    assert sorted(kept.values_list("kind", flat=True)) == ["education_proof", "id_scan"]
    assert not default_storage.exists(first.file.name)
    assert not default_storage.exists(first.thumbnail.name)
    assert default_storage.exists(kept.get(kind="id_scan").file.name)


def test_published_scores_keep_the_lock_while_another_application_is_under_review(
    scheduled, assessor, authority_staff, centre, school
):
    submit_another(scheduled.applicant, centre, school)
    hold(scheduled.session)
    services.score_record(
        application=scheduled, actor=assessor, theory=Decimal(90), practical=Decimal(88)
    )
    services.session_publish_scores(session=scheduled.session, actor=authority_staff)
    scheduled.refresh_from_db()
    assert scheduled.status == S.PASSED
    assert _locked(scheduled.applicant)


def test_submission_keeps_a_copy_of_the_photo_it_is_reviewed_with(submitted, trainer):
    from applicants.models import Material

    photo = Material.objects.get(owner=submitted.applicant, kind="photo")
    with photo.file.open("rb") as handle:
        reviewed = handle.read()
    with submitted.submitted_photo.open("rb") as handle:
        assert handle.read() == reviewed
    assert submitted.submitted_photo.name != photo.file.name


def test_a_resubmission_replaces_the_copy_and_deletes_the_old_one(
    submitted, trainer, private_media_root, django_capture_on_commit_callbacks
):
    first_copy = private_media_root / submitted.submitted_photo.name
    assert first_copy.exists()
    services.application_return(application=submitted, actor=trainer, reason="照片背景不是白色")
    with django_capture_on_commit_callbacks(execute=True):
        replaced = material_upload(user=submitted.applicant, kind="photo", data=good_photo(70))
    with django_capture_on_commit_callbacks(execute=True):
        again = services.application_submit(application=submitted, actor=submitted.applicant)
    assert not first_copy.exists()
    with replaced.file.open("rb") as handle:
        uploaded = handle.read()
    with again.submitted_photo.open("rb") as handle:
        assert handle.read() == uploaded


def test_a_submission_that_fails_after_the_copy_leaves_no_file_behind(
    draft, private_media_root, monkeypatch
):
    import certportal.transitions

    def broken_audit(**kwargs):
        raise RuntimeError("audit store down")

    before = {p.name for p in private_media_root.rglob("*") if p.is_file()}
    monkeypatch.setattr(certportal.transitions, "audit_record", broken_audit)
    with pytest.raises(RuntimeError):
        services.application_submit(application=draft, actor=draft.applicant)
    after = {p.name for p in private_media_root.rglob("*") if p.is_file()}
    assert after == before
    draft.refresh_from_db()
    assert draft.status == S.DRAFT and not draft.submitted_photo
    assert not _locked(draft.applicant)


def test_the_certificate_carries_the_reviewed_photo_not_one_uploaded_after_passing(
    passed, authority_staff, django_capture_on_commit_callbacks
):
    with passed.submitted_photo.open("rb") as handle:
        reviewed = handle.read()
    assert not _locked(passed.applicant)  # scores published: the applicant may upload again
    with django_capture_on_commit_callbacks(execute=True):
        material_upload(user=passed.applicant, kind="photo", data=good_photo(80))
    with django_capture_on_commit_callbacks(execute=True):
        certificate = certificate_issue(application=passed, actor=authority_staff)
    with certificate.holder_photo.open("rb") as handle:
        assert handle.read() == reviewed


def test_the_admission_ticket_shows_the_reviewed_photo(scheduled):
    from exams.services.tickets import ticket_data

    with scheduled.submitted_photo.open("rb") as handle:
        reviewed = handle.read()
    assert ticket_data(scheduled).photo == reviewed


def _save_profile(user, **changes):
    profile = Profile.objects.get(user=user)
    fields = {
        "name": profile.name,
        "id_number": profile.id_number,
        "mobile": profile.mobile,
        "education": profile.education,
    }
    fields.update(changes)
    return profile_save(user=user, **fields)


@pytest.mark.parametrize(("field", "value"), [("name", "王小红"), ("education", "college")])
def test_name_and_education_are_locked_only_while_under_review(submitted, field, value):
    with pytest.raises(ValidationError) as refused:
        _save_profile(submitted.applicant, **{field: value})
    assert "审核中" in refused.value.message_dict[field][0]
    assert getattr(Profile.objects.get(user=submitted.applicant), field) != value
    _save_profile(submitted.applicant, mobile="13900000002")  # other fields stay editable
    services.application_withdraw(application=submitted, actor=submitted.applicant)
    _save_profile(submitted.applicant, **{field: value})
    assert getattr(Profile.objects.get(user=submitted.applicant), field) == value


def test_the_certificate_carries_the_reviewed_name_not_one_typed_after_passing(
    passed, authority_staff, django_capture_on_commit_callbacks
):
    _save_profile(passed.applicant, name="王晓明")
    with django_capture_on_commit_callbacks(execute=True):
        certificate = certificate_issue(application=passed, actor=authority_staff)
    assert certificate.holder_name == passed.submitted_name == "王小明"


def test_the_profile_page_shows_name_and_education_as_fixed(client, submitted):
    client.force_login(submitted.applicant)
    page = client.get("/me/profile/").content.decode()
    assert page.count("报名审核中，暂不能修改") == 2
    # A tampered POST cannot change them either: disabled fields keep the stored values.
    profile = Profile.objects.get(user=submitted.applicant)
    response = client.post(
        "/me/profile/",
        {
            "name": "李四",
            "id_number": profile.id_number,
            "mobile": "13900000003",
            "education": "bachelor",
        },
    )
    assert response.status_code == 302
    profile.refresh_from_db()
    assert (profile.name, profile.education, profile.mobile) == ("王小明", "senior", "13900000003")


def test_the_migration_mends_locks_and_keeps_what_is_under_review(submitted, draft_of_other):
    """Data the old code left: a profile unlocked while its application is under review, one
    locked with nothing under review, and an application with nothing kept."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("exams.migrations.0006_submitted_identity")
    ExamApplication.objects.filter(pk=submitted.pk).update(submitted_name="", submitted_photo="")
    Profile.objects.filter(user=submitted.applicant).update(materials_locked=False)
    Profile.objects.filter(user=draft_of_other.applicant).update(materials_locked=True)

    migration.lock_and_keep_under_review(apps, None)

    assert _locked(submitted.applicant) and not _locked(draft_of_other.applicant)
    submitted.refresh_from_db()
    assert submitted.submitted_name == "王小明"
    photo = Profile.objects.get(user=submitted.applicant).user.materials.get(kind="photo")
    with photo.file.open("rb") as current, submitted.submitted_photo.open("rb") as kept:
        assert kept.read() == current.read()
    assert submitted.submitted_photo.name != photo.file.name
    draft_of_other.refresh_from_db()
    assert not draft_of_other.submitted_photo and draft_of_other.submitted_name == ""


def test_an_application_submitted_before_copies_were_kept_is_issued_from_the_profile(
    passed, authority_staff, django_capture_on_commit_callbacks
):
    from applicants.models import Material

    ExamApplication.objects.filter(pk=passed.pk).update(submitted_name="", submitted_photo="")
    passed.refresh_from_db()
    with Material.objects.get(owner=passed.applicant, kind="photo").file.open("rb") as handle:
        current = handle.read()
    with django_capture_on_commit_callbacks(execute=True):
        certificate = certificate_issue(application=passed, actor=authority_staff)
    assert certificate.holder_name == "王小明"
    with certificate.holder_photo.open("rb") as handle:
        assert handle.read() == current


def test_reviewers_open_the_copies_the_application_was_submitted_with(
    client, submitted, second, trainer, other_institution_staff
):
    """The review page shows the kept copies; the staff who see the application open them,
    anyone else gets 404, and a PDF is downloaded, never shown in the portal's origin."""
    user = submitted.applicant
    reviewed = kept_scan(second)
    services.application_return(application=submitted, actor=trainer, reason="扫描件不清晰")
    material_upload(user=user, kind="id_scan", data=scan_bytes((10, 120, 200)))

    base = f"/staff/applications/{second.pk}/materials/"
    client.force_login(trainer)
    page = client.get(f"/admin/exams/examapplication/{second.pk}/change/").content.decode()
    assert f"{base}id_scan/thumb/" in page and f"{base}photo/file/" in page
    assert "以上为提交审核时的材料" in page
    response = client.get(f"{base}id_scan/file/")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content) == reviewed
    proof = client.get(f"{base}education_proof/file/")
    assert proof.status_code == 200 and proof["Content-Disposition"].startswith("attachment")
    assert client.get(f"{base}medical/file/").status_code == 404
    assert client.get(f"{base}id_scan/other/").status_code == 404

    for outsider in (other_institution_staff, user):
        client.force_login(outsider)
        for kind, variant in (("photo", "file"), ("id_scan", "file"), ("id_scan", "thumb")):
            assert client.get(f"{base}{kind}/{variant}/").status_code == 404, (outsider, kind)


def test_an_application_submitted_before_copies_were_kept_shows_the_profiles_papers(
    client, submitted, trainer
):
    SubmittedMaterial.objects.filter(application=submitted).delete()
    scan = submitted.applicant.materials.get(kind="id_scan")
    client.force_login(trainer)
    page = client.get(f"/admin/exams/examapplication/{submitted.pk}/change/").content.decode()
    assert f"/staff/materials/{scan.pk}/thumb/" in page
    assert "以上为提交审核时的材料" not in page
