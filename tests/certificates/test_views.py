import re

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


def test_an_id_number_typed_into_an_admin_search_box_leaves_the_address(
    client, certificate, authority_staff
):
    """The list's search box is a GET form: the number would stay in the address, the
    browser's history and the proxy's log. The request comes back without it, told where to
    look instead; the other parameters stay."""
    login(client, authority_staff)
    number = certificate.holder_id_number
    for url, kept in (
        (f"/admin/certificates/certificate/?q={number}&status__exact=01", "?status__exact=01"),
        (f"/admin/renewals/renewalapplication/?q=%20{number.lower()}", ""),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == url.split("?")[0] + kept
        page = client.get(response["Location"]).content.decode()
        assert "请不要在搜索框中输入身份证号码" in page and number not in page
    listing = client.get(f"/admin/certificates/certificate/?q={certificate.number}")
    assert listing.status_code == 200  # a certificate number is searched as before


def test_applicant_requests_the_certificate_after_passing(client, passed):
    login(client, passed.applicant)
    assert "申请领取证书" in client.get("/me/certificates/").content.decode()
    client.post(f"/me/certificates/request/{passed.pk}/")
    assert "已提交" in client.get("/me/certificates/").content.decode()


def test_a_status_action_repeated_or_needless_says_nothing_changed(
    client, certificate, authority_staff
):
    """发还 on a certificate never suspended, 吊销 on one already revoked: no "成功", and the
    reason typed is not silently dropped under a success message."""
    from certificates.services import certificate_revoke
    from certportal.models import AuditEvent

    client.force_login(authority_staff)

    def act(action):
        response = client.post(
            "/admin/certificates/certificate/",
            {
                "action": action,
                "_selected_action": [certificate.pk],
                "apply": "1",
                "reason": "复核",
            },
            follow=True,
        )
        return [str(m) for m in response.context["messages"]]

    shown = act("lift")
    assert any("证书已是“有效”状态，未变更。" in m for m in shown), shown
    assert not any("成功" in m for m in shown)
    certificate_revoke(certificate=certificate, actor=authority_staff, reason="违章")
    shown = act("revoke")
    assert any("证书已是“吊销”状态，未变更。" in m for m in shown), shown
    assert AuditEvent.objects.filter(action="certificates.certificate.revoked").count() == 1


def test_the_request_list_shows_whose_request_it_is_and_the_results(
    client, passed, authority_staff
):
    """The authority decides a 新增申请 from its list: name, masked ID number, trade, ticket
    number and scores, and finds one by ticket number; never the whole ID number."""
    from certificates import services as certificate_services

    certificate_services.certificate_request_submit(application=passed, actor=passed.applicant)
    login(client, authority_staff)
    page = client.get("/admin/certificates/certificaterequest/").content.decode()
    number = passed.applicant.profile.id_number
    assert passed.submitted_name in page and passed.ticket_number in page
    assert number[:4] + "*" * 10 + number[-4:] in page and number not in page
    assert f"{passed.theory_score} / {passed.practical_score}" in page
    found = client.get(
        "/admin/certificates/certificaterequest/", {"q": passed.ticket_number}
    ).content.decode()
    assert passed.ticket_number in found
    assert (
        passed.ticket_number
        not in client.get("/admin/certificates/certificaterequest/", {"q": "NOPE"}).content.decode()
    )


def test_issuing_from_a_request_is_reported_as_done_and_again_as_unchanged(
    client, passed, authority_staff, issuer_credit_code
):
    """Issuing closes the request itself before the request's own transition runs: that must
    not read as "nothing changed" (only a request decided before the action is)."""
    from certificates import services as certificate_services
    from certificates.models import Certificate

    request = certificate_services.certificate_request_submit(
        application=passed, actor=passed.applicant
    )
    login(client, authority_staff)

    def approve():
        response = client.post(
            "/admin/certificates/certificaterequest/",
            {"action": "approve", "_selected_action": [request.pk]},
            follow=True,
        )
        return [str(m) for m in response.context["messages"]]

    assert approve() == ["签发：成功 1 条。"]
    assert Certificate.objects.filter(application=passed).count() == 1
    shown = approve()
    assert any("已是“已签发”状态，未变更。" in m for m in shown), shown
    assert not any("成功" in m for m in shown)
    assert Certificate.objects.filter(application=passed).count() == 1


def test_the_validity_history_says_why_in_chinese(client, certificate, authority_staff):
    login(client, authority_staff)
    page = client.get(f"/admin/certificates/certificate/{certificate.pk}/change/").content.decode()
    # The authority sees the validity history (有效期记录), each period's reason in Chinese.
    assert "有效期记录" in page
    assert re.search(r'<td class="field-reason">\s*<p>签发</p>', page)
    assert "<p>issued</p>" not in page


def test_the_certificate_page_links_only_where_staff_may_go(client, certificate, authority_staff):
    """The holder's account as text (staff have no access to accounts: a link led to 无权访问),
    and the public page its QR code opens, as a link."""
    login(client, authority_staff)
    page = client.get(f"/admin/certificates/certificate/{certificate.pk}/change/").content.decode()
    assert "/admin/applicants/user/" not in page
    assert certificate.holder.username in page
    assert f'href="{certificate.verify_path}"' in page
