"""SPEC 4.1: an account registers with its mobile number or its ID number as the login."""

import re

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection

from applicants.models import IdNumberLogin, Profile, User
from applicants.services import account_register, profile_save
from certportal import roles
from certportal.models import AuditEvent
from tests.applicants.conftest import ID_NUMBER, OTHER_ID_NUMBER

pytestmark = pytest.mark.django_db

PASSWORD = "Sicher-2026-pass"


def register(client, login, *, password=PASSWORD, again=None, address="198.51.100.30", **extra):
    return client.post(
        "/accounts/register/",
        {"login": login, "password1": password, "password2": again or password, **extra},
        REMOTE_ADDR=address,
    )


def profile_fields(**overrides):
    return {
        "name": "王小明",
        "id_number": ID_NUMBER,
        "mobile": "13900000001",
        "education": "senior",
        **overrides,
    }


def test_registering_with_an_id_number_logs_in_by_it_and_stores_it_only_encrypted(client):
    response = register(client, ID_NUMBER.lower())  # a lower-case x is read as X
    assert response.status_code == 302 and response["Location"] == "/me/profile/"

    user = User.objects.get(id_number_login__isnull=False)
    # The username is random: neither the number nor a part of it, and not a mobile.
    assert user.username.startswith("id-") and ID_NUMBER[-8:] not in user.username
    assert user.groups.filter(name=roles.APPLICANT).exists()
    assert user.id_number_login.id_number == ID_NUMBER
    with connection.cursor() as cursor:
        table = connection.ops.quote_name(IdNumberLogin._meta.db_table)
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 (a model's own table name)
        raw = " ".join(str(cell) for row in cursor.fetchall() for cell in row)
    assert ID_NUMBER not in raw and ID_NUMBER[:14] not in raw

    # The profile form starts from the number; everything else is still to fill.
    page = client.get("/me/profile/").content.decode()
    assert f'value="{ID_NUMBER}"' in page

    client.logout()
    spaced = " ".join(ID_NUMBER[i : i + 4] for i in range(0, 18, 4))
    for spelling in (ID_NUMBER, spaced):
        ok = client.post("/accounts/login/", {"username": spelling, "password": PASSWORD})
        assert ok.status_code == 302, spelling
        client.logout()
    audited = AuditEvent.objects.filter(action="applicants.user.registered", actor=user)
    assert audited.count() == 1 and ID_NUMBER not in str(audited.get().data)


def test_saving_the_profile_moves_the_number_there_and_the_login_follows(client):
    register(client, ID_NUMBER)
    user = User.objects.get(id_number_login__isnull=False)

    response = client.post("/me/profile/", profile_fields(), follow=True)
    assert "实名信息已保存" in response.content.decode()
    assert "今后请用新填写的身份证号码登录" not in response.content.decode()
    assert Profile.objects.get(user=user).id_number == ID_NUMBER
    assert not IdNumberLogin.objects.filter(user=user).exists()
    client.logout()
    assert (
        client.post("/accounts/login/", {"username": ID_NUMBER, "password": PASSWORD}).status_code
        == 302
    )
    client.logout()
    # The profile's mobile is not the login of an account registered by ID number.
    assert (
        client.post(
            "/accounts/login/", {"username": "13900000001", "password": PASSWORD}
        ).status_code
        == 200
    )


def test_a_mistyped_number_is_corrected_in_the_profile_and_the_login_moves_with_it(client):
    """The worker registered with a wrong but well-formed number (someone else's): the
    profile takes the right one, says the login changed, and the wrong one is free again."""
    register(client, OTHER_ID_NUMBER)
    user = User.objects.get(id_number_login__isnull=False)
    response = client.post("/me/profile/", profile_fields(id_number=ID_NUMBER), follow=True)
    assert "今后请用新填写的身份证号码登录" in response.content.decode()
    client.logout()

    assert (
        client.post("/accounts/login/", {"username": ID_NUMBER, "password": PASSWORD}).status_code
        == 302
    )
    client.logout()
    assert (
        client.post(
            "/accounts/login/", {"username": OTHER_ID_NUMBER, "password": PASSWORD}
        ).status_code
        == 200
    )
    # Its owner can now register with it.
    assert register(client, OTHER_ID_NUMBER, address="198.51.100.31").status_code == 302
    assert User.objects.filter(id_number_login__isnull=False).exclude(pk=user.pk).count() == 1


@pytest.mark.parametrize("held_by", ["profile", "registration"])
def test_a_number_another_account_holds_is_refused_and_nothing_is_created(
    client, applicant, held_by
):
    if held_by == "profile":
        profile_save(user=applicant, **profile_fields())
    else:
        account_register(id_number=ID_NUMBER, password=PASSWORD)
    accounts = User.objects.count()

    response = register(client, ID_NUMBER, address="203.0.113.77")
    body = response.content.decode()
    assert response.status_code == 200
    assert "该身份证号码已在本平台注册或登记实名信息，不能重复登记" in body
    assert ID_NUMBER not in body  # not written back into the form
    assert User.objects.count() == accounts
    # Counted as a refusal of the number, like a profile's: by blind index, never in clear.
    event = AuditEvent.objects.get(action="applicants.profile.id_conflict")
    assert event.actor is None and "client" in event.data
    assert ID_NUMBER not in str(event.data)


def test_a_profile_may_not_take_a_number_another_account_registered_with(applicant):
    holder = account_register(id_number=ID_NUMBER, password=PASSWORD)
    with pytest.raises(ValidationError) as exc:
        profile_save(user=applicant, **profile_fields())
    assert "不能重复登记" in exc.value.message_dict["id_number"][0]
    assert not Profile.objects.filter(user=applicant).exists()
    assert IdNumberLogin.objects.get(user=holder).id_number == ID_NUMBER


@pytest.mark.parametrize(
    ("login", "message"),
    [
        (ID_NUMBER[:17] + ("1" if ID_NUMBER[17] != "1" else "2"), "校验码错误"),
        (ID_NUMBER[:17], "当前为 17 位"),
        ("1380000", "请填写 11 位手机号码（以 1 开头），或 18 位身份证号码"),
        ("12800000000", "请填写 11 位手机号码（以 1 开头），或 18 位身份证号码"),
    ],
)
def test_a_bad_login_is_named_and_nothing_is_created(client, login, message):
    accounts = User.objects.count()
    body = register(client, login).content.decode()
    assert message in body
    assert User.objects.count() == accounts


def test_a_password_like_the_login_is_refused_in_its_own_words(client):
    body = register(client, "13500000032", password="13500000032ab").content.decode()
    assert "密码与手机号码太相似，请换一个。" in body
    body = register(client, ID_NUMBER, password=f"{ID_NUMBER}a").content.decode()
    # Said once, by the more precise of the two rules it breaks.
    assert "密码中不能含有身份证号码中连续 6 位及以上的字符" in body
    assert "密码与身份证号码太相似" not in body
    assert not IdNumberLogin.objects.exists()


def test_the_number_is_not_written_back_after_another_field_fails(client):
    body = register(client, ID_NUMBER, again="Other-2026-pass").content.decode()
    assert "两次输入的密码不一致" in body
    assert ID_NUMBER not in body and ID_NUMBER[-8:] not in body
    assert "您填写的号码没有保留在页面上，请重新填写" in body
    # A mobile number is given back to correct, with nothing to explain.
    body = register(client, "13500000033", again="Other-2026-pass").content.decode()
    assert 'value="13500000033"' in body and "没有保留在页面上" not in body
    assert not IdNumberLogin.objects.exists()


def test_an_address_past_its_refusals_registers_no_new_id_number(client, monkeypatch):
    """An address that has been told about many registered numbers in a day is asked no more
    by ID number, free or not (the answer must not depend on the number); a mobile still
    registers from it."""
    from applicants import services
    from tests.applicants.conftest import registered_numbers

    monkeypatch.setattr(services, "ID_CONFLICTS_PER_ADDRESS_PER_DAY", 2)
    office = "203.0.113.90"
    for number in registered_numbers(2):
        assert "不能重复登记" in register(client, number, address=office).content.decode()

    body = register(client, ID_NUMBER, address=office).content.decode()
    assert "请改用手机号码注册" in body
    assert not IdNumberLogin.objects.exists()
    assert register(client, ID_NUMBER, address="198.51.100.44").status_code == 302
    client.logout()
    assert register(client, "13500000031", address=office).status_code == 302


def test_logins_by_a_registered_number_count_against_its_account(client):
    account_register(id_number=ID_NUMBER, password=PASSWORD)
    for n in range(5):
        client.post(
            "/accounts/login/",
            {"username": ID_NUMBER, "password": "wrong"},
            REMOTE_ADDR=f"192.0.2.{60 + n}",
        )
    locked = client.post("/accounts/login/", {"username": ID_NUMBER, "password": PASSWORD})
    assert locked.status_code == 429


def test_mails_and_pages_name_the_account_by_its_masked_number(client):
    account_register(id_number=ID_NUMBER, password=PASSWORD, email="worker@example.com")
    client.post("/accounts/password_reset/", {"email": "worker@example.com"})
    masked = ID_NUMBER[:4] + "*" * 10 + ID_NUMBER[-4:]
    (message,) = mail.outbox
    assert f"重设账号 {masked} 密码" in message.body and ID_NUMBER not in message.body
    link = re.search(r"http://\S+/accounts/reset/\S+", message.body).group()
    page = client.get(link, follow=True).content.decode()
    assert f"账号：{masked}" in page

    client.post("/accounts/login/", {"username": ID_NUMBER, "password": PASSWORD})
    page = client.get("/accounts/logout/").content.decode()
    assert f"您当前以 {masked} 登录" in page and ID_NUMBER not in page


@pytest.mark.parametrize(
    "typed",
    [ID_NUMBER[:16], ID_NUMBER[:17], ID_NUMBER + "5", ID_NUMBER[:6] + "-" + ID_NUMBER[6:17]],
)
def test_a_mistyped_id_number_is_not_written_back_either(client, typed):
    """17 digits are the whole number (the 18th is computed): no near-miss comes back into
    the register page or the login page."""
    body = register(client, typed).content.decode()
    assert "身份证号码" in body
    assert typed not in body and ID_NUMBER[:16] not in body
    failed = client.post("/accounts/login/", {"username": typed, "password": "wrong"})
    assert typed not in failed.content.decode() and ID_NUMBER[:16] not in failed.content.decode()


def test_the_register_page_is_not_kept_in_caches(client):
    assert "no-store" in client.get("/accounts/register/")["Cache-Control"]


@pytest.mark.parametrize("typed", ["+86 135-0000-0034", "86 13500000034", "135 0000 0034"])
def test_a_mobile_number_written_as_usual_registers_as_the_mobile(client, typed):
    assert register(client, typed).status_code == 302
    assert User.objects.filter(username="13500000034").exists()


@pytest.mark.parametrize("typed", ["135000000341", ID_NUMBER[:13], ID_NUMBER[:14]])
def test_twelve_to_fourteen_digits_get_the_message_for_both(client, typed):
    """Too long for a mobile, too short for an ID number: both are named, with how many
    digits were typed (the box comes back empty, so the worker cannot count them)."""
    body = register(client, typed).content.decode()
    assert "请填写 11 位手机号码（以 1 开头），或 18 位身份证号码" in body
    assert f"您填写了 {len(typed)} 位数字" in body
    assert "您填写的号码没有保留在页面上" in body and typed not in body


@pytest.mark.parametrize(
    "typed",
    [ID_NUMBER[:17] + ("1" if ID_NUMBER[17] != "1" else "2"), ID_NUMBER[:17], ID_NUMBER],
)
def test_every_page_that_empties_the_id_box_says_why(client, typed):
    """A refused number (wrong check digit, a digit short) and a valid number refused for the
    password alike come back as an empty box with the sentence that says why; so does a
    failed login by ID number. A mobile is written back and needs no such sentence."""
    body = register(client, typed, again="Other-2026-pass").content.decode()
    assert "您填写的号码没有保留在页面上，请重新填写" in body and typed not in body
    failed = client.post("/accounts/login/", {"username": typed, "password": "wrong"})
    page = failed.content.decode()
    assert "账号或密码不正确" in page and "您填写的号码没有保留在页面上" in page
    assert typed not in page

    empty = client.post("/accounts/login/", {"username": typed, "password": ""})
    assert "您填写的号码没有保留在页面上" in empty.content.decode()
    staff = client.post("/admin/login/", {"username": typed, "password": "wrong"})
    page = staff.content.decode()
    assert "您填写的号码没有保留在页面上" in page and typed not in page

    mobile = register(client, "13500000035", again="Other-2026-pass").content.decode()
    assert 'value="13500000035"' in mobile and "没有保留在页面上" not in mobile
    page = client.post("/accounts/login/", {"username": "13500000036", "password": "x"})
    assert "没有保留在页面上" not in page.content.decode()


def test_a_short_password_is_refused_in_chinese(client):
    """Django 5.2's own message for it has no Chinese translation."""
    body = register(client, "13500000037", password="Ab-1").content.decode()
    assert "密码太短，至少需要 8 位。" in body and "too short" not in body
    assert not User.objects.filter(username="13500000037").exists()


def test_a_legacy_fifteen_digit_number_registers_as_its_eighteen(client):
    fifteen = ID_NUMBER[:6] + ID_NUMBER[8:17]
    assert register(client, fifteen).status_code == 302
    assert IdNumberLogin.objects.get().id_number == ID_NUMBER
    client.logout()
    for spelling in (fifteen, ID_NUMBER):
        ok = client.post("/accounts/login/", {"username": spelling, "password": PASSWORD})
        assert ok.status_code == 302, spelling
        client.logout()


def test_the_registered_number_is_saved_even_past_the_refusal_limit(monkeypatch):
    """The limit on refused numbers counts new numbers: the account's own, registered one is
    never refused by it."""
    from applicants import services
    from tests.applicants.conftest import registered_numbers

    monkeypatch.setattr(services, "ID_CONFLICTS_PER_DAY", 1)
    user = account_register(id_number=ID_NUMBER, password=PASSWORD)
    (taken,) = registered_numbers(1)
    with pytest.raises(ValidationError, match="不能重复登记"):
        profile_save(user=user, **profile_fields(id_number=taken))
    with pytest.raises(ValidationError, match="请稍后再试"):
        profile_save(user=user, **profile_fields(id_number=OTHER_ID_NUMBER))
    assert profile_save(user=user, **profile_fields()).id_number == ID_NUMBER


def staff_login(client, user):
    from django.http import HttpRequest

    from tests.factories import PASSWORD as STAFF_PASSWORD

    assert client.login(request=HttpRequest(), username=user.username, password=STAFF_PASSWORD)


def test_authority_staff_release_a_number_someone_else_registered_with(
    client, authority_staff, applicant
):
    """Someone registered with another person's number and never filled a profile: its
    owner, at the authority's window with the ID card, gets it back."""
    squatter = account_register(id_number=ID_NUMBER, password=PASSWORD)
    with pytest.raises(ValidationError):
        profile_save(user=applicant, **profile_fields())

    staff_login(client, authority_staff)
    found = client.post("/admin/applicants/profile/find-by-id/", {"id_number": ID_NUMBER})
    assert found.status_code == 302 and "/release-id-login/" in found["Location"]
    assert ID_NUMBER not in found["Location"]
    page = client.get(found["Location"]).content.decode()
    masked = ID_NUMBER[:4] + "*" * 10 + ID_NUMBER[-4:]
    assert masked in page and squatter.username in page and ID_NUMBER not in page

    # A reason is required, and may not carry an ID number.
    refused = client.post(found["Location"], {"reason": f"核验身份证 {ID_NUMBER}"})
    assert refused.status_code == 200 and IdNumberLogin.objects.filter(user=squatter).exists()
    done = client.post(found["Location"], {"reason": "本人持身份证原件到窗口核验"}, follow=True)
    assert "原注册账号已停用" in done.content.decode()

    squatter.refresh_from_db()
    assert not squatter.is_active and not IdNumberLogin.objects.exists()
    event = AuditEvent.objects.get(action="applicants.id_number_login.released")
    assert event.actor == authority_staff and event.reason == "本人持身份证原件到窗口核验"
    assert ID_NUMBER not in str(event.data) + event.object_repr
    # The owner saves the number now; the old account no longer logs in.
    assert profile_save(user=applicant, **profile_fields()).id_number == ID_NUMBER
    client.logout()
    assert (
        client.post(
            "/accounts/login/", {"username": squatter.username, "password": PASSWORD}
        ).status_code
        == 200
    )
    # Released twice: nothing more happens.
    staff_login(client, authority_staff)
    again = client.get(found["Location"], follow=True).content.decode()
    assert "该号码已被释放，无需再次办理" in again


def test_institution_staff_cannot_release_or_learn_of_a_registration(client, institution_staff):
    login = account_register(id_number=ID_NUMBER, password=PASSWORD).id_number_login
    staff_login(client, institution_staff)
    found = client.post(
        "/admin/applicants/profile/find-by-id/", {"id_number": ID_NUMBER}, follow=True
    )
    assert "未找到该身份证号码对应的申报人" in found.content.decode()
    release = f"/admin/applicants/profile/release-id-login/{login.pk}/"
    assert client.post(release, {"reason": "试图释放"}).status_code == 403
    assert IdNumberLogin.objects.filter(pk=login.pk).exists()


def test_a_number_held_by_a_profile_is_not_released_from_here(authority_staff):
    from applicants.services import id_number_login_release
    from certportal.errors import DomainError

    user = account_register(id_number=ID_NUMBER, password=PASSWORD)
    login = user.id_number_login
    profile_save(user=user, **profile_fields())
    with pytest.raises(DomainError) as exc:
        id_number_login_release(login=login, actor=authority_staff, reason="核验")
    assert exc.value.code == "unchanged"  # the registration went to the profile
    assert User.objects.get(pk=user.pk).is_active


def test_the_user_list_names_id_accounts_by_their_masked_number(
    client, superuser, django_assert_max_num_queries
):
    """The username of an ID account is random (id-…): the admin's user list shows the
    number it logs in with, masked, before and after the profile takes it, in one query for
    the page however many such accounts it lists."""
    masked = ID_NUMBER[:4] + "*" * 10 + ID_NUMBER[-4:]
    other_masked = OTHER_ID_NUMBER[:4] + "*" * 10 + OTHER_ID_NUMBER[-4:]
    account_register(id_number=ID_NUMBER, password=PASSWORD)
    held = account_register(id_number=OTHER_ID_NUMBER, password=PASSWORD)
    profile_save(user=held, **profile_fields(id_number=OTHER_ID_NUMBER, mobile="13900000009"))
    account_register(mobile="13700000001", password=PASSWORD)
    client.force_login(superuser)
    client.get("/admin/applicants/user/")  # the session and permissions, read once
    with django_assert_max_num_queries(8):
        page = client.get("/admin/applicants/user/").content.decode()
    assert masked in page and other_masked in page and "137****0001" in page
    assert ID_NUMBER not in page and OTHER_ID_NUMBER not in page


def test_the_user_list_finds_a_worker_by_the_name_and_mobile_of_the_profile(client, superuser):
    held = account_register(id_number=OTHER_ID_NUMBER, password=PASSWORD)
    profile_save(user=held, **profile_fields(id_number=OTHER_ID_NUMBER, mobile="13900000009"))
    account_register(mobile="13700000001", password=PASSWORD)
    client.force_login(superuser)
    other_masked = OTHER_ID_NUMBER[:4] + "*" * 10 + OTHER_ID_NUMBER[-4:]
    for term in ("王小明", "13900000009"):
        page = client.get("/admin/applicants/user/", {"q": term}).content.decode()
        assert other_masked in page and "137****0001" not in page
        assert held.username in page  # its row (the username links to the account)
    page = client.get("/admin/applicants/user/", {"q": "李四"}).content.decode()
    assert other_masked not in page


def test_staff_pages_name_an_id_account_by_its_masked_number(
    client, superuser, django_assert_max_num_queries
):
    """账号 on the profile's page and 操作人 in the log name an ID-number account by its
    masked number, not its random id-… username; the log's list reads them in its one query."""
    masked = ID_NUMBER[:4] + "*" * 10 + ID_NUMBER[-4:]
    other_masked = OTHER_ID_NUMBER[:4] + "*" * 10 + OTHER_ID_NUMBER[-4:]
    user = account_register(id_number=ID_NUMBER, password=PASSWORD)
    profile = profile_save(user=user, **profile_fields())
    other = account_register(id_number=OTHER_ID_NUMBER, password=PASSWORD)  # no profile yet
    client.force_login(superuser)

    page = client.get(f"/admin/applicants/profile/{profile.pk}/change/").content.decode()
    assert masked in page and user.username not in page

    client.get("/admin/certportal/auditevent/")  # the session and permissions, read once
    # The page's own six (session, user, the action filter and its record types, the count,
    # the rows): none per row.
    with django_assert_max_num_queries(6):
        page = client.get("/admin/certportal/auditevent/").content.decode()
    assert masked in page and other_masked in page
    assert user.username not in page and other.username not in page
    assert ID_NUMBER not in page and OTHER_ID_NUMBER not in page


def test_staff_accounts_cannot_be_named_like_an_id_account(client, superuser):
    """``id-…`` is the mark of an account registered with its ID number; the admin refuses it
    for a new or renamed account, creates nothing, and leaves an ID account's own name be."""
    client.force_login(superuser)
    response = client.post(
        "/admin/applicants/user/add/",
        {"username": "ID-zhang", "usable_password": "false"},
    )
    assert "留给用身份证号码注册的账号" in response.content.decode()
    assert not User.objects.filter(username__iexact="id-zhang").exists()
    assert (
        client.post(
            "/admin/applicants/user/add/", {"username": "zhang", "usable_password": "false"}
        ).status_code
        == 302
    )
    taken = client.post(
        "/admin/applicants/user/add/", {"username": "Zhang", "usable_password": "false"}
    )
    assert taken.status_code == 200 and "已存在" in taken.content.decode()

    account = account_register(id_number=ID_NUMBER, password=PASSWORD)
    fields = {"username": account.username, "email": "", "date_joined_0": "2026-11-23",
              "date_joined_1": "08:00:00", "is_active": "on"}  # fmt: skip
    assert client.post(f"/admin/applicants/user/{account.pk}/change/", fields).status_code == 302
    staff = User.objects.get(username="zhang")
    response = client.post(
        f"/admin/applicants/user/{staff.pk}/change/", {**fields, "username": "id-zhang"}
    )
    assert "留给用身份证号码注册的账号" in response.content.decode()
    staff.refresh_from_db()
    assert staff.username == "zhang"


@pytest.mark.parametrize(
    ("password", "again", "password_message"),
    [
        ("Wang-2026-pass", "Wang-2026-past", "两次输入的密码不一致"),  # the form's check
        ("short1", None, "密码太短"),  # the password rules, checked by the service
    ],
)
def test_a_taken_number_is_said_together_with_a_refused_password(
    client, password, again, password_message
):
    """The box is emptied after any error: a taken number is named at once, not only after
    the passwords are put right and the number typed again; the answer counts against the
    address as any refusal does, and nothing is created."""
    account_register(id_number=ID_NUMBER, password=PASSWORD)
    accounts = User.objects.count()
    body = register(client, ID_NUMBER, password=password, again=again).content.decode()
    assert password_message in body and "不能重复登记" in body
    assert ID_NUMBER not in body
    assert User.objects.count() == accounts
    assert AuditEvent.objects.filter(action="applicants.profile.id_conflict").count() == 1

    # A free number with the same mistake: only the password is spoken of.
    body = register(client, OTHER_ID_NUMBER, password=password, again=again).content.decode()
    assert password_message in body and "不能重复登记" not in body
    assert AuditEvent.objects.filter(action="applicants.profile.id_conflict").count() == 1


def test_an_address_past_its_registrations_hears_nothing_of_the_number(client, monkeypatch):
    """With the passwords differing, the number is only looked up for an address still
    within its registrations: past them, the answer would be an oracle without limit."""
    from applicants import services

    account_register(id_number=ID_NUMBER, password=PASSWORD)
    monkeypatch.setattr(services, "_registrations_limited", lambda client_key: True)
    body = register(client, ID_NUMBER, password="Wang-2026-pass", again="Other").content.decode()
    assert "两次输入的密码不一致" in body and "不能重复登记" not in body
    assert not AuditEvent.objects.filter(action="applicants.profile.id_conflict").exists()
