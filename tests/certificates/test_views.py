import pytest
from django.http import HttpRequest

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def login(client, user):
    assert client.login(request=HttpRequest(), username=user.username, password=PASSWORD)


def test_holder_lists_and_downloads_the_pdf(client, certificate):
    login(client, certificate.holder)
    page = client.get("/me/certificates/").content.decode()
    assert certificate.number in page and "有效" in page
    response = client.get(f"/me/certificates/{certificate.pk}/certificate.pdf")
    assert response.status_code == 200 and b"".join(response.streaming_content).startswith(b"%PDF-")


def test_other_applicant_and_anonymous_get_404(client, certificate, other_applicant):
    url = f"/me/certificates/{certificate.pk}/certificate.pdf"
    assert client.get(url).status_code == 404
    assert client.get(f"/staff/certificates/{certificate.pk}/certificate.pdf").status_code == 404
    login(client, other_applicant)
    assert client.get(url).status_code == 404
    assert certificate.number not in client.get("/me/certificates/").content.decode()


def test_staff_of_another_authority_cannot_see_it(
    client, certificate, other_authority_staff, authority_staff
):
    login(client, other_authority_staff)
    assert client.get(f"/staff/certificates/{certificate.pk}/certificate.pdf").status_code == 404
    assert (
        client.get(f"/admin/certificates/certificate/{certificate.pk}/change/").status_code == 302
    )
    client.logout()
    login(client, authority_staff)
    assert (
        client.get(f"/admin/certificates/certificate/{certificate.pk}/change/").status_code == 200
    )


def test_admin_finds_by_exact_id_number_through_post(client, certificate, authority_staff):
    login(client, authority_staff)
    response = client.post(
        "/admin/certificates/certificate/find-by-id/", {"id_number": certificate.holder_id_number}
    )
    assert response["Location"] == f"/admin/certificates/certificate/{certificate.pk}/change/"


def test_applicant_requests_the_certificate_after_passing(client, passed):
    login(client, passed.applicant)
    assert "申请领取证书" in client.get("/me/certificates/").content.decode()
    client.post(f"/me/certificates/request/{passed.pk}/")
    assert "已提交" in client.get("/me/certificates/").content.decode()
