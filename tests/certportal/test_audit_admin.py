"""The audit log as staff read it: actions and states in words, and each record's history."""

import pytest
from django.http import HttpRequest

from certportal.audit_labels import action_label, state_label
from certportal.models import AuditEvent
from exams.models import ExamApplication
from tests.factories import PASSWORD


def login(client, user):
    assert client.login(request=HttpRequest(), username=user.username, password=PASSWORD)


@pytest.mark.django_db
def test_actions_and_states_are_named_in_words(certificate):
    from django.contrib.contenttypes.models import ContentType

    application = ContentType.objects.get_for_model(ExamApplication)
    cert = ContentType.objects.get_for_model(type(certificate))
    assert action_label("exams.application.returned", application) == "考试报名：退回补正"
    assert action_label("certificates.certificate.suspended", cert) == "证书：暂扣"
    assert state_label(cert, "02") == "暂扣" and state_label(application, "returned") == "退回补正"
    assert action_label("renewals.ce.imported", None) == "继续教育记录：导入"
    assert action_label("something.odd", None) == "something.odd"  # shown as it is


@pytest.mark.django_db
def test_a_certificates_history_shows_its_audit_events_and_the_log_finds_it_by_number(
    client, certificate, authority_staff
):
    from certificates import services

    services.certificate_suspend(
        certificate=certificate, actor=authority_staff, reason="违章作业，暂扣三个月"
    )
    login(client, authority_staff)
    page = client.get(f"/admin/certificates/certificate/{certificate.pk}/history/")
    text = page.content.decode()
    assert "证书：暂扣" in text and "有效 → 暂扣" in text and "违章作业，暂扣三个月" in text
    assert "证书：签发" in text
    assert "不是通过管理站点添加的" not in text  # the audit events are the history

    listing = client.get("/admin/certportal/auditevent/", {"q": certificate.number})
    text = listing.content.decode()
    assert "证书：暂扣" in text and ">certificates.certificate.suspended<" not in text
    assert AuditEvent.objects.filter(object_repr__contains=certificate.number).count() >= 2
    # The record types offered are the portal's own, not the framework's.
    assert "access attempt" not in text and "权限" not in text


@pytest.mark.django_db
def test_institution_staff_do_not_read_the_audit_trail_on_a_history_page(
    client, trainer, submitted
):
    """The audit log is the authority's (roles): a training school opening an application's
    history sees Django's own list, not who decided what and why; with nothing in it, where
    to look instead of Django's "它可能不是通过管理站点添加的" (the services changed it)."""
    login(client, trainer)
    page = client.get(f"/admin/exams/examapplication/{submitted.pk}/history/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "审计记录" not in text.replace("完整的审计记录由发证机关查看", "")
    assert "不是通过管理站点添加的" not in text and "办理经过" in text
