"""Every URL that shows someone's record, tried by everyone it does not belong to."""

import pytest
from django.http import HttpRequest

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(submitted_renewal):
    """One holder with a profile, materials, a passed application with a ticket, a certificate
    with its PDF, and a submitted renewal."""
    certificate = submitted_renewal.certificate
    application = certificate.application
    photo = certificate.holder.materials.get(kind="photo")
    return {
        "holder": certificate.holder,
        "owner_urls": [
            "/me/",
            "/me/profile/",
            "/me/materials/",
            "/me/materials/photo/file/",
            "/me/materials/photo/thumb/",
            "/me/applications/",
            f"/me/applications/{application.pk}/",
            f"/me/applications/{application.pk}/ticket.pdf",
            "/me/certificates/",
            f"/me/certificates/{certificate.pk}/certificate.pdf",
            f"/me/certificates/{certificate.pk}/renewal/",
            f"/me/certificates/{certificate.pk}/renewal/delivery/",
            f"/me/certificates/{certificate.pk}/renewal/confirm/",
        ],
        "record_urls": [
            f"/me/applications/{application.pk}/",
            f"/me/applications/{application.pk}/ticket.pdf",
            f"/me/certificates/{certificate.pk}/certificate.pdf",
            f"/me/certificates/{certificate.pk}/renewal/",
            f"/me/certificates/{certificate.pk}/renewal/delivery/",
            f"/me/certificates/{certificate.pk}/renewal/confirm/",
            f"/staff/materials/{photo.pk}/file/",
            f"/staff/materials/{photo.pk}/thumb/",
            f"/staff/certificates/{certificate.pk}/certificate.pdf",
        ],
        "admin_urls": [
            f"/admin/applicants/profile/{certificate.holder.profile.pk}/change/",
            f"/admin/exams/examapplication/{application.pk}/change/",
            f"/admin/exams/examsession/{application.session_id}/change/",
            f"/admin/certificates/certificate/{certificate.pk}/change/",
            f"/admin/renewals/renewalapplication/{submitted_renewal.pk}/change/",
        ],
        "secrets": [certificate.holder_id_number, certificate.number, certificate.holder_name],
    }


def login(client, user):
    assert client.login(request=HttpRequest(), username=user.username, password=PASSWORD)


def test_the_holder_reaches_every_own_url(client, world):
    login(client, world["holder"])
    for url in world["owner_urls"]:
        response = client.get(url)
        if url.endswith(("/delivery/", "/confirm/")):
            # The renewal is already submitted: its later steps lead back to its overview.
            assert response.status_code == 302 and response["Location"].endswith("/renewal/"), url
        else:
            assert response.status_code == 200, url


def test_anonymous_reaches_nothing(client, world):
    for url in world["owner_urls"] + world["record_urls"]:
        response = client.get(url)
        assert response.status_code in (302, 404), url
        if response.status_code == 302:
            assert response["Location"].startswith("/accounts/login/"), url
    for url in world["admin_urls"]:
        assert client.get(url).status_code == 302, url


@pytest.mark.parametrize(
    "intruder", ["other_applicant", "other_institution_staff", "other_authority_staff"]
)
def test_no_one_else_reaches_the_records(client, world, intruder, request):
    user = request.getfixturevalue(intruder)
    login(client, user)
    for url in world["record_urls"]:
        response = client.get(url)
        assert response.status_code == 404, (intruder, url, response.status_code)
        body = response.content.decode(errors="replace")
        assert not [s for s in world["secrets"] if s in body], (intruder, url)
    for url in world["admin_urls"]:
        response = client.get(url)
        assert response.status_code in (302, 403, 404), (intruder, url, response.status_code)
    for url in ("/me/", "/me/applications/", "/me/certificates/"):
        body = client.get(url).content.decode()
        assert not [s for s in world["secrets"] if s in body], (intruder, url)


@pytest.mark.parametrize("intruder", ["other_institution_staff", "other_authority_staff"])
def test_admin_lists_of_other_scopes_show_none_of_the_records(client, world, intruder, request):
    login(client, request.getfixturevalue(intruder))
    for changelist in (
        "/admin/applicants/profile/",
        "/admin/exams/examapplication/",
        "/admin/certificates/certificate/",
        "/admin/renewals/renewalapplication/",
        "/admin/renewals/continuingeducation/",
    ):
        response = client.get(changelist)
        if response.status_code == 200:
            body = response.content.decode()
            assert not [s for s in world["secrets"] if s in body], (intruder, changelist)
