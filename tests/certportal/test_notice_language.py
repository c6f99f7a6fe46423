"""Notices are worded in Chinese whatever language the acting staff member's pages are in
(SPEC 6: Chinese by default; the language switch is a visitor's own preference, and a
reviewer who reads the admin in English must not send workers English notices and mails)."""

import pytest
from django.core import mail
from django.utils import translation

from certificates.services.status import certificate_suspend
from certportal.models import Notice
from exams.services.applications import application_reject, application_return
from renewals import services as renewals

pytestmark = pytest.mark.django_db


def the_notice(user) -> Notice:
    return Notice.objects.filter(user=user).latest("pk")


def test_a_certificate_status_change_is_told_in_chinese(certificate, authority_staff):
    certificate.holder.email = "holder@example.com"
    certificate.holder.save()
    with translation.override("en"):
        certificate_suspend(certificate=certificate, actor=authority_staff, reason="违章作业，暂扣")
    notice = the_notice(certificate.holder)
    assert notice.title.startswith("证书状态变更") and "暂扣" in notice.title
    assert "Suspended" not in notice.title and notice.body.startswith("原因：")


@pytest.mark.parametrize("decide", [application_return, application_reject])
def test_an_application_decision_is_told_in_chinese(submitted, trainer, decide):
    with translation.override("en"):
        decide(application=submitted, actor=trainer, reason="缺少体检报告")
    notice = the_notice(submitted.applicant)
    assert notice.title.startswith("您的考试报名") and "原因：缺少体检报告" in notice.body


def test_renewal_decisions_are_told_in_chinese(
    submitted_renewal, authority_staff, django_capture_on_commit_callbacks
):
    holder = submitted_renewal.applicant
    holder.email = "holder@example.com"
    holder.save()
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        renewals.renewal_return(
            renewal=submitted_renewal, actor=authority_staff, reason="继续教育证明不清晰"
        )
    notice = the_notice(holder)
    assert notice.title == "延续申请被退回补正"
    assert "请于" in notice.body and "补正并重新提交" in notice.body
    (message,) = mail.outbox
    assert message.subject == "延续申请被退回补正" and "补正并重新提交" in message.body
