"""The holder's 撤回 button on the renewal overview, and the POST behind it."""

import pytest

from certificates.models import Certificate
from certportal.models import AuditEvent
from renewals import services
from renewals.models import RenewalApplication
from tests.renewals.fixtures import fill

pytestmark = pytest.mark.django_db

BUTTON = 'id="withdraw-renewal"'


def overview(renewal_or_certificate) -> str:
    certificate_id = getattr(renewal_or_certificate, "certificate_id", renewal_or_certificate.pk)
    return f"/me/certificates/{certificate_id}/renewal/"


def status_of(renewal) -> str:
    return RenewalApplication.objects.get(pk=renewal.pk).status


def withdrawn_events() -> int:
    return AuditEvent.objects.filter(action="renewals.renewal.withdrawn").count()


@pytest.fixture
def returned_renewal(submitted_renewal, authority_staff):
    return services.renewal_return(
        renewal=submitted_renewal, actor=authority_staff, reason="承诺日期有误"
    )


def test_withdraw_of_a_returned_renewal_ends_it_and_the_pending_validity(client, returned_renewal):
    client.force_login(returned_renewal.applicant)
    page = client.get(overview(returned_renewal)).content.decode()
    assert BUTTON in page and "已过有效期的证书将显示为过期" in page
    response = client.post(overview(returned_renewal) + "withdraw/", {"confirm": "on"}, follow=True)
    assert response.redirect_chain == [(overview(returned_renewal), 302)]
    page = response.content.decode()
    assert "延续申请已撤回。" in page and BUTTON not in page
    assert status_of(returned_renewal) == "withdrawn"
    assert not Certificate.objects.get(pk=returned_renewal.certificate_id).renewal_pending
    event = AuditEvent.objects.get(action="renewals.renewal.withdrawn")
    assert (event.from_state, event.to_state, event.actor_id) == (
        "returned",
        "withdrawn",
        returned_renewal.applicant_id,
    )


def test_withdraw_of_a_draft(client, ready):
    draft = RenewalApplication.objects.get(pk=fill(ready).pk)
    client.force_login(ready.holder)
    page = client.get(overview(ready)).content.decode()
    assert BUTTON in page and "已过有效期的证书将显示为过期" not in page
    response = client.post(overview(ready) + "withdraw/", {"confirm": "on"}, follow=True)
    assert "延续申请已撤回。" in response.content.decode()
    assert status_of(draft) == "withdrawn"


def test_withdraw_twice_changes_nothing_more(client, returned_renewal):
    client.force_login(returned_renewal.applicant)
    url = overview(returned_renewal) + "withdraw/"
    client.post(url, {"confirm": "on"})
    response = client.post(url, {"confirm": "on"}, follow=True)
    assert "延续申请已撤回。" in response.content.decode()
    assert status_of(returned_renewal) == "withdrawn"
    assert withdrawn_events() == 1


def test_withdraw_without_the_confirmation_changes_nothing(client, returned_renewal):
    client.force_login(returned_renewal.applicant)
    response = client.post(overview(returned_renewal) + "withdraw/", {}, follow=True)
    assert "请先勾选确认，再撤回延续申请。" in response.content.decode()
    assert status_of(returned_renewal) == "returned"
    assert withdrawn_events() == 0


def test_withdraw_of_a_submitted_renewal_has_no_button_and_is_refused(client, submitted_renewal):
    client.force_login(submitted_renewal.applicant)
    page = client.get(overview(submitted_renewal)).content.decode()
    assert "延续申请正在审查" in page and BUTTON not in page
    response = client.post(
        overview(submitted_renewal) + "withdraw/", {"confirm": "on"}, follow=True
    )
    page = response.content.decode()
    assert "不能撤回" in page and "延续申请已撤回。" not in page
    assert status_of(submitted_renewal) == "submitted"
    assert Certificate.objects.get(pk=submitted_renewal.certificate_id).renewal_pending
    assert withdrawn_events() == 0


def test_withdraw_without_any_renewal_says_so(client, ready):
    client.force_login(ready.holder)
    response = client.post(overview(ready) + "withdraw/", {"confirm": "on"}, follow=True)
    assert "没有可撤回的延续申请。" in response.content.decode()
    assert not RenewalApplication.objects.exists()


def test_withdraw_by_a_get_only_leads_back_to_the_overview(client, returned_renewal):
    client.force_login(returned_renewal.applicant)
    response = client.get(overview(returned_renewal) + "withdraw/", {"confirm": "on"})
    assert response.status_code == 302
    assert response["Location"] == overview(returned_renewal)
    assert status_of(returned_renewal) == "returned"


def test_withdraw_by_anyone_else_is_404_and_changes_nothing(
    client, returned_renewal, other_applicant
):
    url = overview(returned_renewal) + "withdraw/"
    response = client.post(url, {"confirm": "on"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    client.force_login(other_applicant)
    assert client.post(url, {"confirm": "on"}).status_code == 404
    assert client.get(url).status_code == 404
    assert status_of(returned_renewal) == "returned"
    assert Certificate.objects.get(pk=returned_renewal.certificate_id).renewal_pending
    assert withdrawn_events() == 0
