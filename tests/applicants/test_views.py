import pytest
from django.core import mail
from django.http import HttpRequest

from applicants.models import Material, Profile
from applicants.services import material_upload
from certportal.models import AuditEvent
from tests.applicants.conftest import ID_NUMBER
from tests.applicants.corpus import good_id_scan, good_pdf, good_photo
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def login(client, user):
    assert client.login(request=HttpRequest(), username=user.username, password=PASSWORD)


def test_register_logs_in_and_leads_to_the_profile(client):
    response = client.post(
        "/accounts/register/",
        {"login": "13712345678", "password1": "Strong-pass-2026", "password2": "Strong-pass-2026"},
    )
    assert response.status_code == 302 and response["Location"] == "/me/profile/"
    assert client.get("/me/").status_code == 200


def test_register_shows_every_problem_in_chinese_and_creates_nothing(client):
    """Every problem at once, the mobile number's beside the others, not in a second round."""
    from applicants.models import User

    response = client.post(
        "/accounts/register/",
        {"login": "1380000", "email": "not-an-address", "password1": "1234", "password2": "4321"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "两次输入的密码不一致" in body
    assert "请填写 11 位手机号码（以 1 开头），或 18 位身份证号码" in body
    assert "输入一个有效的 Email 地址" in body
    assert not User.objects.filter(username="1380000").exists()


def test_login_with_id_number_or_mobile(client, profile):
    for login_name in (ID_NUMBER, ID_NUMBER.lower(), profile.user.username):
        response = client.post("/accounts/login/", {"username": login_name, "password": PASSWORD})
        assert response.status_code == 302, login_name
        client.logout()


def test_login_is_throttled_per_account_and_stores_no_id_number(client, profile):
    from axes.models import AccessAttempt

    for _ in range(5):
        response = client.post("/accounts/login/", {"username": ID_NUMBER, "password": "wrong"})
    response = client.post("/accounts/login/", {"username": ID_NUMBER, "password": PASSWORD})
    assert response.status_code == 429
    assert "暂时锁定" in response.content.decode()
    stored = " ".join(
        f"{a.username} {a.get_data} {a.post_data}" for a in AccessAttempt.objects.all()
    )
    assert ID_NUMBER not in stored and ID_NUMBER[:10] not in stored


def test_every_spelling_of_an_id_number_counts_against_one_account(client, profile):
    """Full-width digits, a lower-case x, the old 15-digit form: login reads them all as the
    same number, so the lockout does too, from whatever address."""
    from applicants.idcard import parse_id_number

    full_width = ID_NUMBER.translate({ord(d): 0xFF10 + int(d) for d in "0123456789"})
    full_width = full_width.replace("X", "Ｘ")  # as an input method types the check letter
    fifteen = ID_NUMBER[:6] + ID_NUMBER[8:17]
    spaced = " ".join(ID_NUMBER[i : i + 4] for i in range(0, 18, 4))
    spellings = [ID_NUMBER, full_width, full_width[:9] + ID_NUMBER[9:], fifteen, spaced]
    assert {parse_id_number(s).number for s in spellings} == {ID_NUMBER}
    for n, spelling in enumerate(spellings, start=1):
        client.post(
            "/accounts/login/",
            {"username": spelling, "password": "wrong"},
            REMOTE_ADDR=f"2001:db8:{n}::1",
        )
    response = client.post(
        "/accounts/login/",
        {"username": ID_NUMBER, "password": PASSWORD},
        REMOTE_ADDR="198.51.100.9",
    )
    assert response.status_code == 429


def test_the_mobile_and_the_id_number_share_one_budget(client, profile):
    """One account, whichever name it is tried by: three wrong passwords by ID number and two
    by mobile lock it (not five of each)."""
    mobile = profile.user.username
    for n, name in enumerate([ID_NUMBER, ID_NUMBER, ID_NUMBER, mobile, mobile], start=1):
        client.post(
            "/accounts/login/", {"username": name, "password": "wrong"}, REMOTE_ADDR=f"192.0.2.{n}"
        )
    locked = client.post("/accounts/login/", {"username": mobile, "password": PASSWORD})
    assert locked.status_code == 429


def test_every_spelling_of_an_id_number_logs_in_and_none_is_echoed(client, profile):
    full_width = ID_NUMBER.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
    spaced = " ".join(ID_NUMBER[i : i + 4] for i in range(0, 18, 4))
    for spelling in (full_width, spaced):
        failed = client.post("/accounts/login/", {"username": spelling, "password": "wrong"})
        assert spelling not in failed.content.decode()
        ok = client.post("/accounts/login/", {"username": spelling, "password": PASSWORD})
        assert ok.status_code == 302, spelling
        client.logout()


def test_an_ipv6_client_is_throttled_by_its_64(
    client, authority_staff, settings, steady_login_window
):
    """One subscriber holds a whole /64: new addresses in it buy no new login tries."""
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 5
    for number in range(5):
        client.post(
            "/admin/login/",
            {"username": f"nobody{number}", "password": "wrong"},
            REMOTE_ADDR=f"2001:db8:7:7::{number + 1}",
        )
    response = client.post(
        "/admin/login/",
        {"username": authority_staff.username, "password": PASSWORD},
        REMOTE_ADDR="2001:db8:7:7:ffff::1",
    )
    assert response.status_code == 429
    ok = client.post(
        "/admin/login/",
        {"username": authority_staff.username, "password": PASSWORD},
        REMOTE_ADDR="2001:db8:7:8::1",  # another subscriber
    )
    assert ok.status_code == 302


def forget_failures(address: str) -> None:
    from django.core.cache import cache

    from applicants import throttle

    cache.delete(f"login-failures:{address}:{throttle._window()[1]}")


def test_a_few_failures_at_one_address_lock_nobody_else_out(
    client, profile, authority_staff, settings, steady_login_window
):
    """Five mistyped logins in a training institution's office (one address) lock those
    accounts, not every account behind the address."""
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 30  # the default
    office = {"REMOTE_ADDR": "203.0.113.50"}
    forget_failures("203.0.113.50")  # Redis keeps counts for the cool-off, across runs
    for number in range(5):
        client.post(
            "/accounts/login/",
            {"username": f"1390000000{number}", "password": "wrong"},
            **office,
        )
    response = client.post(
        "/accounts/login/", {"username": ID_NUMBER, "password": PASSWORD}, **office
    )
    assert response.status_code == 302
    client.logout()
    response = client.post(
        "/admin/login/", {"username": authority_staff.username, "password": PASSWORD}, **office
    )
    assert response.status_code == 302


def test_an_address_past_its_budget_is_refused_without_blaming_a_password(
    client, authority_staff, settings, steady_login_window
):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 8
    office = {"REMOTE_ADDR": "203.0.113.60"}
    for number in range(8):
        client.post("/admin/login/", {"username": f"nobody{number}", "password": "wrong"}, **office)
    response = client.post(
        "/admin/login/", {"username": authority_staff.username, "password": PASSWORD}, **office
    )
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    body = response.content.decode()
    assert "来自该网络的登录已暂时受限" in body and "无需重设密码" in body
    assert "_auth_user_id" not in client.session
    # The refused try is not counted against the account: from elsewhere it logs in.
    elsewhere = client.post(
        "/admin/login/",
        {"username": authority_staff.username, "password": PASSWORD},
        REMOTE_ADDR="198.51.100.7",
    )
    assert elsewhere.status_code == 302


def test_a_failed_login_never_writes_an_id_number_back_into_the_page(client, profile):
    for path in ("/accounts/login/", "/admin/login/"):
        response = client.post(path, {"username": ID_NUMBER, "password": "wrong"})
        assert response.status_code == 200
        assert ID_NUMBER not in response.content.decode()
    response = client.post("/accounts/login/", {"username": "13900000009", "password": "wrong"})
    assert 'value="13900000009"' in response.content.decode()  # a mobile is given back


def test_password_reset_mails_a_link(client, applicant):
    applicant.email = "worker@example.com"
    applicant.save()
    response = client.post("/accounts/password_reset/", {"email": "worker@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and "/accounts/reset/" in mail.outbox[0].body


def test_accounts_sharing_an_e_mail_each_get_a_mail_naming_the_account(client, db):
    """Two workers registered with one family e-mail: each mail, and the page its link
    opens, says which account it resets (the mobile masked)."""
    import re

    from applicants.services import account_register

    for mobile in ("13922220001", "13922220002"):
        account_register(mobile=mobile, password="Safe-pass-2026", email="same@example.com")
    client.post("/accounts/password_reset/", {"email": "same@example.com"})
    bodies = sorted(m.body for m in mail.outbox)
    assert len(bodies) == 2
    assert "重设账号 139****0001 密码" in bodies[0] and "139****0002" in bodies[1]
    assert "13922220001" not in bodies[0]
    link = re.search(r"http://\S+/accounts/reset/\S+", bodies[1]).group()
    page = client.get(link, follow=True).content.decode()
    assert "账号：139****0002" in page


def test_profile_page_saves_and_shows_birth_date_and_sex_from_the_number(client, applicant):
    login(client, applicant)
    response = client.post(
        "/me/profile/",
        {
            "name": "王小明",
            "id_number": ID_NUMBER.lower(),
            "mobile": "13900000001",
            "education": "senior",
        },
    )
    assert response.status_code == 302
    body = client.get("/me/profile/").content.decode()
    assert "1985年6月12日" in body and "男" in body
    assert Profile.objects.get(user=applicant).id_number == ID_NUMBER


def test_profile_page_reports_a_bad_id_number_in_chinese(client, applicant):
    login(client, applicant)
    response = client.post(
        "/me/profile/",
        {
            "name": "王小明",
            "id_number": ID_NUMBER[:-1] + "0",
            "mobile": "13900000001",
            "education": "senior",
        },
    )
    assert response.status_code == 200
    assert "校验码" in response.content.decode()
    assert not Profile.objects.exists()


def test_materials_page_uploads_and_reports_the_broken_rule(client, applicant):
    login(client, applicant)
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = SimpleUploadedFile("photo.jpg", b"<html><script>alert(1)</script></html>", "image/jpeg")
    response = client.post("/me/materials/", {"kind": "photo", "file": bad})
    assert response.status_code == 400
    assert "JPEG" in response.content.decode()
    good = SimpleUploadedFile("x.jpg", good_photo(), "image/jpeg")
    response = client.post("/me/materials/", {"kind": "photo", "file": good})
    assert response.status_code == 302
    assert Material.objects.filter(owner=applicant, kind="photo").exists()


def test_dashboard_checklist_turns_complete(client, profile):
    login(client, profile.user)
    assert "上传电子照片" in client.get("/me/").content.decode()
    for kind, data in (
        ("photo", good_photo()),
        ("id_scan", good_id_scan()),
        ("education_proof", good_pdf()),
    ):
        material_upload(user=profile.user, kind=kind, data=data)
    body = client.get("/me/").content.decode()
    assert "实名信息和材料已齐全" in body


@pytest.fixture
def owned_material(profile):
    return material_upload(user=profile.user, kind="photo", data=good_photo())


OWNER_URLS = [
    "/me/",
    "/me/profile/",
    "/me/materials/",
    "/me/materials/photo/file/",
    "/me/materials/photo/thumb/",
]


def test_owner_reaches_own_records(client, owned_material):
    login(client, owned_material.owner)
    for url in OWNER_URLS:
        assert client.get(url).status_code == 200, url
    own = client.get("/me/materials/photo/file/")
    assert own["Content-Type"] == "image/jpeg" and "no-store" in own["Cache-Control"]


def test_another_applicant_sees_none_of_the_records(client, owned_material, other_applicant):
    login(client, other_applicant)
    for url in OWNER_URLS[3:]:
        assert client.get(url).status_code == 404, url
    for variant in ("file", "thumb"):
        assert client.get(f"/staff/materials/{owned_material.pk}/{variant}/").status_code == 404
    body = client.get("/me/profile/").content.decode()
    assert ID_NUMBER not in body and "王小明" not in body


def test_anonymous_visitor_gets_404_for_files_and_login_for_pages(client, owned_material):
    for url in OWNER_URLS[:3]:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
    for url in [
        *OWNER_URLS[3:],
        f"/staff/materials/{owned_material.pk}/file/",
        f"/staff/materials/{owned_material.pk}/thumb/",
    ]:
        response = client.get(url)
        assert response.status_code == 404, url
        assert response["Content-Type"].startswith("text/html")


def test_staff_outside_scope_cannot_open_materials(client, owned_material, authority_staff):
    login(client, authority_staff)
    assert client.get(f"/staff/materials/{owned_material.pk}/file/").status_code == 404


def test_superuser_opens_materials_from_the_admin(client, owned_material, superuser):
    login(client, superuser)
    assert client.get(f"/staff/materials/{owned_material.pk}/thumb/").status_code == 200
    page = client.get(f"/admin/applicants/profile/{owned_material.owner.profile.pk}/change/")
    body = page.content.decode()
    assert page.status_code == 200 and f"/staff/materials/{owned_material.pk}/thumb/" in body


def test_admin_lists_masked_ids_and_finds_by_exact_id_through_post(client, profile, superuser):
    login(client, superuser)
    listing = client.get("/admin/applicants/profile/").content.decode()
    assert "3505**********" in listing and ID_NUMBER not in listing
    assert "王小明" in client.get("/admin/applicants/profile/?q=王小明").content.decode()
    response = client.post(
        "/admin/applicants/profile/find-by-id/", {"id_number": ID_NUMBER.lower()}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/admin/applicants/profile/{profile.pk}/change/"
    assert client.get("/admin/applicants/profile/find-by-id/").status_code == 405


def test_admin_profile_list_is_empty_for_staff_without_scope(client, profile, authority_staff):
    login(client, authority_staff)
    listing = client.get("/admin/applicants/profile/").content.decode()
    assert "王小明" not in listing
    response = client.get(f"/admin/applicants/profile/{profile.pk}/change/")
    assert response.status_code == 302


def test_profile_changes_are_audited_without_values(client, profile):
    events = AuditEvent.objects.filter(action__startswith="applicants.profile")
    assert events.count() == 1
    assert ID_NUMBER not in str(list(events.values()))


def test_the_sign_out_address_opened_by_get_offers_the_button(client, applicant):
    """/accounts/logout/ from a bookmark: a page with the sign-out button (a GET never signs
    out: a link or an image could otherwise sign anyone out), not an empty 405."""
    login(client, applicant)
    page = client.get("/accounts/logout/")
    assert page.status_code == 200 and "确认退出登录" in page.content.decode()
    assert client.get("/me/").status_code == 200  # still signed in
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/me/").status_code == 302  # signed out
    assert "您已退出登录" in client.get("/accounts/logout/").content.decode()


@pytest.mark.parametrize("path", ["/accounts/register/", "/verify/"])
def test_every_described_by_names_an_element_of_the_page(client, path):
    """Screen readers read a field's help and errors through aria-describedby: each id it
    names is on the page (Django names them <id>_helptext and <id>_error)."""
    import re

    page = client.post(path, {"login": "1", "name": "", "id_number": ""}).content.decode()
    named = {n for ids in re.findall(r'aria-describedby="([^"]+)"', page) for n in ids.split()}
    assert named, "no field is described"
    present = set(re.findall(r'\bid="([^"]+)"', page))
    assert named <= present, named - present


def test_a_stale_form_gets_a_page_that_says_what_to_do(db):
    """A login form opened before logging in or out in another tab fails its security check:
    the site's own page in Chinese, with the way back, and nothing done."""
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/accounts/login/?next=/me/",
        {"username": "x", "password": "y"},
        HTTP_REFERER="http://testserver/accounts/login/?next=/me/",
    )
    assert response.status_code == 403
    body = response.content.decode()
    assert "页面已过期，请重新提交" in body and "没有保存任何内容" in body
    assert 'href="/accounts/login/?next=/me/"' in body
    # A form posted to a POST-only view, or from elsewhere: back to the home page.
    elsewhere = client.post(
        "/accounts/login/", {"username": "x"}, HTTP_REFERER="https://evil.example/form"
    )
    assert 'class="button" href="/"' in elsewhere.content.decode()
    assert "CSRF" not in body and "DEBUG" not in body
    assert response["Cache-Control"] == "no-store"
