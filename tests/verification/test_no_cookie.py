"""The lookup page needs no CSRF token and sets no cookie: a site inspector's phone that scans
a QR code or types a certificate number gets the answer and nothing to keep, and the name +
ID number form works from a page that carried no token."""

from __future__ import annotations

import pytest

from tests.verification.helpers import IdGuardClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser():
    """A first visit from a browser: no cookies, and the CSRF check enforced."""
    return IdGuardClient(enforce_csrf_checks=True)


def test_the_page_carries_no_token_and_sets_no_cookie(browser, certificate):
    for response in (
        browser.get("/verify/"),
        browser.get("/verify/", {"cert_no": certificate.number, "name": "王小明"}),
        browser.get(certificate.verify_path),
    ):
        assert response.status_code == 200
        assert "csrfmiddlewaretoken" not in response.content.decode()
        assert not response.cookies, response.cookies
        assert "Set-Cookie" not in response.headers


def test_the_person_form_works_from_a_page_without_a_token(browser, certificate):
    page = browser.get("/verify/").content.decode()
    assert 'method="post" action="/verify/#result"' in page
    response = browser.post(
        "/verify/", {"name": "王小明", "id_number": certificate.holder_id_number}
    )
    assert response.status_code == 200
    assert certificate.number in response.content.decode()
    assert not response.cookies


def test_the_language_switch_works_without_a_token(browser):
    response = browser.post("/i18n/setlang/", {"language": "en", "next": "/verify/"})
    assert response.status_code == 302 and response["Location"] == "/verify/"
    assert response.cookies["django_language"].value == "en"
    page = browser.get("/verify/").content.decode()
    assert '<html lang="en">' in page and "Verify" in page


def test_the_language_switch_keeps_a_lookup_by_certificate_number(browser, certificate):
    """Switched on the answer to /verify/?cert_no=…&name=…, the visitor lands on the same
    answer in the other language, not on an empty form."""
    from urllib.parse import urlencode

    path = "/verify/?" + urlencode({"cert_no": certificate.number, "name": certificate.holder_name})
    page = browser.get(path).content.decode()
    assert certificate.number in page
    response = browser.post("/i18n/setlang/", {"language": "en", "next": path})
    assert response.status_code == 302 and response["Location"] == path
    assert f'name="next" type="hidden" value="{path.replace("&", "&amp;")}"' in page
    # The pages drawn by Django's templates (the holder's) keep their query the same way.
    browser.force_login(certificate.holder)
    page = browser.get("/me/applications/?page=1").content.decode()
    assert 'name="next" type="hidden" value="/me/applications/?page=1"' in page


def test_the_language_switch_goes_nowhere_else(browser):
    """A forged switch can change a visitor's language and nothing more: never off the site."""
    response = browser.post("/i18n/setlang/", {"language": "en", "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/"
    response = browser.post("/i18n/setlang/", {"language": "xx", "next": "/verify/"})
    assert "django_language" not in response.cookies


def test_a_signed_in_user_still_signs_out_with_a_token(browser, applicant):
    browser.force_login(applicant)
    page = browser.get("/verify/").content.decode()
    assert page.count("csrfmiddlewaretoken") == 1  # the sign-out form's, in the header
    assert browser.post("/accounts/logout/").status_code == 403
