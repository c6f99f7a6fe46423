"""Notices for many users at once (a batch's): recorded together, mailed after commit."""

import logging

import pytest
from django.core.mail.backends.base import BaseEmailBackend

from certportal.models import Notice
from certportal.notifications import notify_many
from tests.factories import user_factory

pytestmark = pytest.mark.django_db


class RefusingBackend(BaseEmailBackend):
    """A mail server that refuses every message."""

    def send_messages(self, email_messages):
        raise ConnectionRefusedError("smtp down")


def test_notify_many_records_each_notice_and_mails_each_address_after_commit(
    mailoutbox, django_capture_on_commit_callbacks
):
    with_address = user_factory(email="holder@example.com")
    without_address = user_factory()
    with django_capture_on_commit_callbacks(execute=True):
        notify_many(
            [
                Notice(
                    user=with_address, title="证书已签发", body="请下载", url="/me/certificates/"
                ),
                Notice(user=without_address, title="证书已签发"),
            ]
        )
        assert mailoutbox == []  # nothing leaves before the commit
    assert sorted(Notice.objects.values_list("user_id", flat=True)) == sorted(
        [with_address.pk, without_address.pk]
    )
    assert [message.to for message in mailoutbox] == [["holder@example.com"]]
    assert mailoutbox[0].subject == "证书已签发"
    assert mailoutbox[0].body.startswith("请下载") and "/me/certificates/" in mailoutbox[0].body


def test_notify_many_keeps_the_notices_when_the_mail_server_refuses(
    settings, caplog, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.certportal.test_notifications.RefusingBackend"
    users = [user_factory(email=f"holder{n}@example.com") for n in range(2)]
    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        notify_many([Notice(user=user, title="证书已签发") for user in users])
    assert Notice.objects.count() == 2
    assert caplog.text.count("notice mail for notice") == 2
    assert "holder0@example.com" not in caplog.text
