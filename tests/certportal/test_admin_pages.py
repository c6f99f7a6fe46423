"""The admin's own pages (imports, the correction) read like the rest of the admin: the title
once, and breadcrumbs back through the list (and the record) they belong to."""

import pytest
from django.http import HttpRequest

from applicants.models import Profile
from tests.factories import PASSWORD


def login(client, user):
    assert client.login(request=HttpRequest(), username=user.username, password=PASSWORD)


def breadcrumbs(page: str) -> str:
    start = page.index('<div class="breadcrumbs">')
    return page[start : page.index("</div>", start)]


@pytest.mark.django_db
def test_score_import_page(client, assessor, scheduled):
    session = scheduled.session
    login(client, assessor)
    page = client.get(f"/admin/exams/examsession/{session.pk}/import-scores/").content.decode()
    assert page.count("<h1>导入成绩：") == 1
    crumbs = breadcrumbs(page)
    assert 'href="/admin/exams/examsession/">' in crumbs
    assert f'href="/admin/exams/examsession/{session.pk}/change/">' in crumbs


@pytest.mark.django_db
def test_ce_import_page(client, ce_staff):
    login(client, ce_staff)
    page = client.get("/admin/renewals/continuingeducation/import/").content.decode()
    assert page.count("<h1>导入继续教育记录</h1>") == 1
    assert "css/admin.css" in page  # wide lists scroll instead of squeezing names
    assert 'href="/admin/renewals/continuingeducation/">' in breadcrumbs(page)


@pytest.mark.django_db
def test_profile_correction_page(client, authority_staff, certificate):
    profile = Profile.objects.get(user=certificate.holder)
    login(client, authority_staff)
    page = client.get(f"/admin/applicants/profile/{profile.pk}/correct/").content.decode()
    assert page.count("<h1>更正实名信息：") == 1
    crumbs = breadcrumbs(page)
    assert 'href="/admin/applicants/profile/">' in crumbs
    assert f'href="/admin/applicants/profile/{profile.pk}/change/">' in crumbs
    # The account is shown as text: its admin page is for superusers alone.
    change = client.get(f"/admin/applicants/profile/{profile.pk}/change/").content.decode()
    assert certificate.holder.username in change and "/admin/applicants/user/" not in change


@pytest.mark.django_db
def test_staff_change_their_password_on_an_admin_page_not_the_workers_one(client, authority_staff):
    client.force_login(authority_staff)
    page = client.get("/admin/password_change/").content.decode()
    # The admin's header, not the workers' menu (我的办事, 我的证书).
    assert 'id="site-name"' in page and "我的办事" not in page and "我的证书" not in page
    assert 'name="old_password"' in page and 'name="new_password1"' in page
    done = client.get("/admin/password_change/done/").content.decode()
    assert 'id="site-name"' in done and "我的办事" not in done


@pytest.mark.django_db
def test_the_lockout_pages_and_the_logs_record_types_read_chinese(client, superuser):
    """django-axes ships no Chinese: its names come from locale/zh_Hans."""
    client.force_login(superuser)
    page = client.get("/admin/axes/accessattempt/").content.decode()
    assert "登录尝试记录" in page and "access attempt" not in page
    # The section itself: the index and the breadcrumbs name it, no longer "Axes".
    index = client.get("/admin/").content.decode()
    assert "登录锁定" in index and "Axes" not in index
    assert '<a href="/admin/axes/">登录锁定</a>' in page
    log = client.get("/admin/certportal/auditevent/").content.decode()
    assert "登录失败记录" in log and "access failure" not in log
