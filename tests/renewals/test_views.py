import pytest
from django.http import HttpRequest

from certificates.models import Certificate
from renewals.models import RenewalApplication
from tests.factories import PASSWORD
from tests.renewals.fixtures import step_one_form

pytestmark = pytest.mark.django_db


def login(client, user):
    assert client.login(request=HttpRequest(), username=user.username, password=PASSWORD)


def test_holder_walks_the_three_steps(client, ready):
    login(client, ready.holder)
    base = f"/me/certificates/{ready.pk}/renewal/"
    page = client.get(base).content.decode()
    assert "24 / 24" in page.replace(".0", "") and "本人承诺" in page
    # The commitments in the Zhejiang form's own words, thresholds and catch-all included.
    assert "双眼裸视力在 4.8 以上" in page and "考核发证机关规定的其他情形" in page
    response = client.post(base, {"ce_city": "泉州", "ce_district": "丰泽区", "save": "1"})
    assert response.status_code == 302
    assert RenewalApplication.objects.get().status == "draft"
    response = client.post(base, {"ce_city": "泉州", "ce_district": "丰泽区", "next": "1"})
    assert "请阅读并勾选此项承诺" in response.content.decode()
    response = client.post(base, step_one_form())
    assert response["Location"] == base + "delivery/"
    response = client.post(base + "delivery/", {"delivery": "mail", "mail_address": ""})
    assert "邮寄地址" in response.content.decode()
    response = client.post(base + "delivery/", {"delivery": "electronic"})
    assert response["Location"] == base + "confirm/"
    confirm = client.get(base + "confirm/").content.decode()
    assert ready.number in confirm and ready.holder_id_number not in confirm
    response = client.post(base + "confirm/", {"signature_name": "张三", "confirm": "on"})
    assert response.status_code == 400 and "电子签名须与持证人姓名" in response.content.decode()
    response = client.post(
        base + "confirm/", {"signature_name": ready.holder_name, "confirm": "on"}
    )
    assert response.status_code == 302
    assert RenewalApplication.objects.get().status == "submitted"
    assert Certificate.objects.get(pk=ready.pk).renewal_pending


def test_other_applicant_and_anonymous_get_404_or_login(client, ready, other_applicant):
    base = f"/me/certificates/{ready.pk}/renewal/"
    assert client.get(base).status_code == 302
    login(client, other_applicant)
    for url in (base, base + "delivery/", base + "confirm/"):
        assert client.get(url).status_code == 404, url
    assert client.post(base, {"ce_city": "x", "ce_district": "y", "save": "1"}).status_code == 404
    assert not RenewalApplication.objects.exists()


def test_admin_shows_due_dates_and_scopes_renewals(
    client, submitted_renewal, authority_staff, other_authority_staff
):
    change = f"/admin/renewals/renewalapplication/{submitted_renewal.pk}/change/"
    login(client, authority_staff)
    listing = client.get("/admin/renewals/renewalapplication/").content.decode()
    assert submitted_renewal.certificate.number in listing
    detail = client.get(change).content.decode()
    assert "继续教育" in detail and "准予延续最迟" in detail
    client.logout()
    login(client, other_authority_staff)
    assert (
        submitted_renewal.certificate.number
        not in client.get("/admin/renewals/renewalapplication/").content.decode()
    )
    assert client.get(change).status_code == 302


def test_admin_approves_with_the_action(client, submitted_renewal, authority_staff):
    login(client, authority_staff)
    client.post(
        "/admin/renewals/renewalapplication/",
        {"action": "approve", "_selected_action": [submitted_renewal.pk]},
    )
    submitted_renewal.refresh_from_db()
    assert submitted_renewal.status == "approved"


def test_a_renewal_submitted_in_time_reads_in_time_after_the_expiry_day(
    client, submitted_renewal, authority_staff, time_machine
):
    """Past the certificate's expiry day, with its renewal under review, neither the reviewer
    nor the holder reads a red "受理期……已经结束": it was submitted inside the window."""
    from datetime import datetime, timedelta

    from django.utils import timezone

    certificate = submitted_renewal.certificate
    later = certificate.valid_until + timedelta(days=3)
    time_machine.move_to(timezone.make_aware(datetime(later.year, later.month, later.day, 10)))
    for user, url in (
        (authority_staff, f"/admin/renewals/renewalapplication/{submitted_renewal.pk}/change/"),
        (certificate.holder, f"/me/certificates/{certificate.pk}/renewal/"),
    ):
        client.force_login(user)
        page = client.get(url).content.decode()
        assert "已经结束" not in page, url
        assert "在受理期" in page and "内提交" in page, url


def test_a_profile_name_unlike_the_certificates_is_told_from_the_first_step(client, ready):
    """The holder learns that the signature cannot match before filling the three steps, and
    the confirm page says it once when the submission is refused."""
    from applicants.models import Profile

    login(client, ready.holder)
    base = f"/me/certificates/{ready.pk}/renewal/"
    assert "不一致" not in client.get(base).content.decode()
    Profile.objects.filter(user=ready.holder).update(name="王晓明")
    page = client.get(base).content.decode()
    assert "您个人信息中的姓名“王晓明”与证书上的姓名" in page and "联系发证机关" in page
    client.post(base, step_one_form())
    client.post(base + "delivery/", {"delivery": "electronic"})
    assert "王晓明" in client.get(base + "confirm/").content.decode()
    refused = client.post(base + "confirm/", {"signature_name": "王晓明", "confirm": "on"})
    assert refused.status_code == 400
    assert refused.content.decode().count("您个人信息中的姓名“王晓明”") == 1
