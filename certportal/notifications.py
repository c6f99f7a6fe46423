"""Telling a user something: a notice in the portal, and an e-mail after commit."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import EmailMessage, get_connection, send_mail
from django.db import transaction
from django.utils import translation

from .models import Notice

logger = logging.getLogger(__name__)


def official_language():
    """Where a notice's texts are built: in the portal's language (Chinese, SPEC 6), whatever
    the acting staff member chose for their own pages with the language switch. A worker's
    notice and mail do not follow the reviewer's preference. ``with official_language(): …``
    around the ``_()`` calls that word a notice (a lazy text passed to ``notify`` is also
    worded in it)."""
    return translation.override(settings.LANGUAGE_CODE)


def _mail_text(notice: Notice) -> str:
    link = f"{settings.SITE_URL}{notice.url}" if notice.url else settings.SITE_URL
    return f"{notice.body}\n\n{link}" if notice.body else link


def clause(text: str) -> str:
    """Staff's reason set inside a notice's sentence ("原因：%(reason)s。"): without its own
    closing punctuation, so the notice does not read "…扫描件。。"."""
    return text.strip().rstrip("。．.；;，, ")


def notify(*, user, title: str, body: str = "", url: str = "") -> Notice:
    """Record a portal notice for ``user`` and mail it after commit if they have an address.

    A mail failure is logged (without the address) and never undoes the notice.
    """
    with official_language():
        title, body = str(title), str(body)
    notice = Notice.objects.create(user=user, title=title, body=body, url=url)
    email = getattr(user, "email", "")
    if email:

        def send() -> None:
            try:
                send_mail(title, _mail_text(notice), None, [email])
            except Exception:
                logger.exception("notice mail for notice %s failed", notice.pk)

        transaction.on_commit(send)
    return notice


def notify_many(notices: Iterable[Notice]) -> list[Notice]:
    """Record many unsaved notices (user, title, body, url) in one statement, and mail each
    after commit to its user's address over one mail connection, as ``notify`` does."""
    saved = Notice.objects.bulk_create(list(notices), batch_size=1000)
    mails = [(notice, notice.user.email) for notice in saved if getattr(notice.user, "email", "")]
    if mails:

        def send() -> None:
            try:
                with get_connection() as connection:
                    for notice, email in mails:
                        message = EmailMessage(
                            notice.title, _mail_text(notice), None, [email], connection=connection
                        )
                        try:
                            message.send()
                        except Exception:
                            logger.exception("notice mail for notice %s failed", notice.pk)
            except Exception:  # the connection itself: no mail went, the notices stay
                logger.exception("notice mails for %s notices failed", len(mails))

        transaction.on_commit(send)
    return saved
