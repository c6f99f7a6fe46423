"""A password may not hold six characters in a row of its owner's ID number (the birth date,
the last six digits), on every form that sets one: registration, password change, reset."""

import re

import pytest
from django.core import mail

from applicants.models import IdNumberLogin, User
from applicants.services import account_register
from tests.applicants.conftest import ID_NUMBER

pytestmark = pytest.mark.django_db

MESSAGE = "密码中不能含有身份证号码中连续 6 位及以上的字符"
BIRTH_DATE = ID_NUMBER[6:14]


def register(client, login, password):
    return client.post(
        "/accounts/register/",
        {"login": login, "password1": password, "password2": password},
        REMOTE_ADDR="198.51.100.61",
    )


@pytest.mark.parametrize(
    "password",
    [
        f"Wang{BIRTH_DATE}ab",  # the birth date (Django's similarity check let it pass)
        f"Wang{BIRTH_DATE[2:]}ab",  # the birth date as six digits
        f"Zhang@{ID_NUMBER[-6:].lower()}",  # the last six, X typed in lower case
        f"Home-{ID_NUMBER[:6]}-pass",  # the region code
    ],
)
def test_registering_by_id_number_refuses_a_password_holding_a_run_of_it(client, password):
    body = register(client, ID_NUMBER, password).content.decode()
    assert MESSAGE in body
    assert not IdNumberLogin.objects.exists()
    assert not User.objects.filter(username__startswith="id-").exists()


def test_five_characters_of_the_number_in_a_row_are_allowed(client):
    password = f"Wang{BIRTH_DATE[:5]}-ab"
    assert register(client, ID_NUMBER, password).status_code == 302
    assert IdNumberLogin.objects.get().id_number == ID_NUMBER


def change_password(client, old, new):
    return client.post(
        "/accounts/password_change/",
        {"old_password": old, "new_password1": new, "new_password2": new},
    )


def test_password_change_checks_the_profile_number(client, applicant, profile):
    applicant.set_password("Old-2026-pass")
    applicant.save()
    client.force_login(applicant)
    response = change_password(client, "Old-2026-pass", f"Wang{BIRTH_DATE}ab")
    assert response.status_code == 200 and MESSAGE in response.content.decode()
    applicant.refresh_from_db()
    assert applicant.check_password("Old-2026-pass")

    assert change_password(client, "Old-2026-pass", "Brand-new-2026").status_code == 302
    applicant.refresh_from_db()
    assert applicant.check_password("Brand-new-2026")


def test_an_id_number_account_before_its_profile_is_checked_too(client):
    user = account_register(id_number=ID_NUMBER, password="Sicher-2026-pass")
    client.force_login(user)
    response = change_password(client, "Sicher-2026-pass", f"Tail{ID_NUMBER[-6:]}!")
    assert MESSAGE in response.content.decode()
    user.refresh_from_db()
    assert user.check_password("Sicher-2026-pass")


def test_a_reset_password_is_checked_too(client, applicant, profile, settings):
    applicant.email = "worker@example.com"
    applicant.save()
    client.post("/accounts/password_reset/", {"email": "worker@example.com"})
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    set_url = form_page.redirect_chain[-1][0]
    new = f"Reset{BIRTH_DATE}x"
    response = client.post(set_url, {"new_password1": new, "new_password2": new})
    assert MESSAGE in response.content.decode()
    applicant.refresh_from_db()
    assert not applicant.check_password(new)
