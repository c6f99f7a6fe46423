import json
import logging

import pytest
from django.core.management import call_command
from django.http import HttpRequest

from tests.factories import PASSWORD


@pytest.mark.django_db
def test_logs_of_a_full_demo_run_contain_no_id_number(
    tmp_path, caplog, django_capture_on_commit_callbacks
):
    summary = tmp_path / "summary.json"
    with caplog.at_level(logging.DEBUG), django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", password="Demo-2026-pass", summary=summary, verbosity=0)
    numbers = {c["id_number"] for c in json.loads(summary.read_text("utf-8"))["certificates"]}
    assert numbers and caplog.records
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert not [n for n in numbers if n in text or n.lower() in text]


# (A right-to-left override is refused at input now: tests/security/test_hostile_input.py.)
HOSTILE = '<script>alert("x")</script>\'; DROP TABLE applicants_profile; --'


@pytest.mark.django_db
def test_hostile_address_renders_escaped_on_the_profile_page_and_in_the_admin(
    client, candidate, superuser
):
    from applicants.services import profile_save

    profile = candidate.profile

    profile_save(
        user=profile.user,
        name=profile.name,
        id_number=profile.id_number,
        mobile=profile.mobile,
        education=profile.education,
        address=HOSTILE,
    )
    client.login(request=HttpRequest(), username=profile.user.username, password=PASSWORD)
    page = client.get("/me/profile/").content.decode()
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    client.logout()
    client.login(request=HttpRequest(), username=superuser.username, password=PASSWORD)
    admin_page = client.get(f"/admin/applicants/profile/{profile.pk}/change/").content.decode()
    assert "<script>alert" not in admin_page and "&lt;script&gt;alert" in admin_page
    from applicants.models import Profile

    assert Profile.objects.count() == 1
