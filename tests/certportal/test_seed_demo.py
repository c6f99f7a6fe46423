import json

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from applicants.models import User
from exams.models import StaffMembership


@pytest.mark.django_db
def test_seed_demo_creates_one_user_per_role_and_is_idempotent(tmp_path):
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
    assert data["certificates"] == []
    assert User.objects.count() == 4
    for entry in data["users"]:
        assert authenticate(username=entry["username"], password=entry["password"])
    authority = User.objects.get(username="authority")
    assert (
        authority.is_staff and authority.staff_membership.authority.name == "泉州市住房和城乡建设局"
    )
    assert StaffMembership.objects.count() == 2


@pytest.mark.django_db
def test_seed_demo_refuses_a_weak_password():
    with pytest.raises(CommandError, match="密码"):
        call_command("seed_demo", password="123", verbosity=0)
    assert not User.objects.exists()
