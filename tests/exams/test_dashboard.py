"""/me/ (SPEC 5): profile completeness, applications, certificates, and what to do next."""

from datetime import timedelta

import pytest
from django.utils import timezone

from certificates.models import Certificate
from certificates.services import certificate_issue
from exams import services

pytestmark = pytest.mark.django_db


def dashboard(client, user) -> str:
    client.force_login(user)
    return client.get("/me/").content.decode()


def test_a_complete_profile_with_nothing_else_invites_to_apply(client, candidate):
    page = dashboard(client, candidate)
    assert "实名信息和材料已齐全，可以报名考试。" in page
    assert "<h2>我的报名</h2>" not in page and "<h2>我的证书</h2>" not in page


def test_an_application_under_review_is_not_met_with_an_invitation_to_apply(client, submitted):
    page = dashboard(client, submitted.applicant)
    assert "可以报名考试" not in page
    assert "暂无需要您办理的事项，办理进展见下方。" in page and "· 已提交" in page


def test_a_returned_application_comes_first_and_the_list_shows_it(client, submitted, trainer):
    services.application_return(application=submitted, actor=trainer, reason="照片不清晰")
    page = dashboard(client, submitted.applicant)
    assert "“建筑起重机械司机（塔式起重机）”报名被退回补正：修改后重新提交" in page
    assert f'href="/me/applications/{submitted.pk}/"' in page
    assert "<h2>我的报名</h2>" in page and "· 退回补正" in page
    assert "可以报名考试" not in page


def test_a_scheduled_candidate_is_told_to_download_the_ticket(client, scheduled):
    page = dashboard(client, scheduled.applicant)
    assert "下载“建筑起重机械司机（塔式起重机）”准考证，按时参加考核" in page


def test_a_passed_candidate_is_told_to_apply_for_the_certificate(client, passed):
    page = dashboard(client, passed.applicant)
    assert "“建筑起重机械司机（塔式起重机）”考核合格：申请领取证书" in page


def test_certificates_are_listed_with_their_validity_and_the_renewal_window(
    client, passed, authority_staff
):
    certificate = certificate_issue(application=passed, actor=authority_staff)
    page = dashboard(client, passed.applicant)
    assert "<h2>我的证书</h2>" in page and certificate.number in page
    assert "有效，有效期至" in page
    assert "申请领取证书" not in page and "申请延续" not in page

    until = timezone.localdate() + timedelta(days=30)
    Certificate.objects.filter(pk=certificate.pk).update(
        valid_from=until - timedelta(days=729), valid_until=until
    )
    page = dashboard(client, passed.applicant)
    assert "证书已进入延续受理期：申请延续" in page
    assert f'href="/me/certificates/{certificate.pk}/renewal/"' in page
