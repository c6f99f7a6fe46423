import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.http import HttpRequest

from applicants.models import User
from exams.models import StaffMembership


@pytest.mark.django_db
def test_seed_demo_creates_one_user_per_role_and_is_idempotent(tmp_path, client):
    summary = tmp_path / "summary.json"
    call_command("seed_demo", password="Demo-2026-pass", summary=summary, verbosity=0)
    call_command("seed_demo", password="Demo-2026-pass", summary=summary, verbosity=0)
    data = json.loads(summary.read_text("utf-8"))
    assert [u["role"] for u in data["users"]] == [
        "applicant",
        "institution_staff",
        "authority_staff",
        "superuser",
    ]
    certificates = data["certificates"]
    assert {c["status"] for c in certificates} == {"01", "02", "03", "04", "05", "06"}
    for entry in certificates:
        assert entry["pdf"] and Path(entry["pdf"]).read_bytes().startswith(b"%PDF-")
        assert entry["verify_url"].endswith("/") and "/v/" in entry["verify_url"]
        assert entry["id_number"] not in entry["verify_url"]
        assert len(entry["id_number"]) == 18 and entry["number"].startswith("闽C")
    assert User.objects.filter(is_staff=True).count() == 4  # + the assessment centre's clerk
    for entry in data["users"]:
        assert client.login(
            request=HttpRequest(), username=entry["username"], password=entry["password"]
        )
    authority = User.objects.get(username="authority")
    assert (
        authority.is_staff and authority.staff_membership.authority.name == "泉州市住房和城乡建设局"
    )
    assert StaffMembership.objects.count() == 3


@pytest.mark.django_db
def test_seed_demo_gives_complete_and_incomplete_applicants_with_valid_materials(tmp_path):
    from applicants.models import Material, Profile
    from applicants.selectors import profile_checklist

    call_command("seed_demo", password="Demo-2026-pass", verbosity=0)
    call_command("seed_demo", password="Demo-2026-pass", verbosity=0)
    complete = User.objects.get(username="13800000001")
    assert all(item.done for item in profile_checklist(complete))
    assert Material.objects.filter(owner=complete, kind__in=Material.PROFILE_KINDS).count() == 3
    with_profile_only = User.objects.get(username="13800000002")
    assert Profile.objects.filter(user=with_profile_only).exists()
    assert not Material.objects.filter(owner=with_profile_only).exists()
    assert not Profile.objects.filter(user__username="13800000003").exists()


@pytest.mark.django_db
def test_seed_demo_refuses_a_weak_password():
    with pytest.raises(CommandError, match="密码"):
        call_command("seed_demo", password="123", verbosity=0)
    assert not User.objects.exists()


@pytest.mark.django_db
def test_seed_demo_has_applications_and_sessions_in_every_state(django_capture_on_commit_callbacks):
    from exams.models import ExamApplication, ExamSession

    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", password="Demo-2026-pass", verbosity=0)
    call_command("seed_demo", password="Demo-2026-pass", verbosity=0)
    statuses = set(ExamApplication.objects.values_list("status", flat=True))
    assert statuses == set(ExamApplication.Status.values)
    assert set(ExamSession.objects.values_list("status", flat=True)) == set(
        ExamSession.Status.values
    )
    from certificates.models import Certificate, CertificateRequest

    # A request awaiting the authority and one refused, beside those issuing closed.
    assert set(CertificateRequest.objects.values_list("status", flat=True)) == set(
        CertificateRequest.Status.values
    )
    pending = CertificateRequest.objects.get(status="submitted")
    assert pending.application.applicant.username == "13800000026"
    assert not Certificate.objects.filter(application=pending.application).exists()
    passed = ExamApplication.objects.get(applicant__username="13800000001")
    assert passed.status == "passed" and passed.theory_score is not None
    assert ExamApplication.objects.filter(status="scheduled").exclude(ticket_pdf="").exists()
    # The institution login (the training school) finds the plan it proposed.
    proposed = ExamSession.objects.get(training_institution__isnull=False)
    assert proposed.status == "submitted"
    assert proposed.training_institution.staffmembership_set.filter(
        user__username="institution"
    ).exists()


@pytest.mark.django_db
def test_seed_demo_has_renewals_in_every_state_and_ce_records():
    from renewals.models import ConductRecord, ContinuingEducation, RenewalApplication

    call_command("seed_demo", password="Demo-2026-pass", verbosity=0)
    call_command("seed_demo", password="Demo-2026-pass", verbosity=0)
    statuses = sorted(RenewalApplication.objects.values_list("status", flat=True))
    assert statuses == sorted(RenewalApplication.Status.values)
    assert ContinuingEducation.objects.count() == 10
    assert set(ConductRecord.objects.values_list("kind", flat=True)) == {"violation", "accident"}
    # A record entered in error and voided, beside those that stand.
    assert ConductRecord.objects.filter(voided_at__isnull=False).count() == 1
    assert ConductRecord.objects.in_force().count() == 2
