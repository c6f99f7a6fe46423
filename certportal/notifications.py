"""Telling a user something: a notice in the portal, and an e-mail after commit."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from .models import Notice

logger = logging.getLogger(__name__)


def notify(*, user, title: str, body: str = "", url: str = "") -> Notice:
    """Record a portal notice for ``user`` and mail it after commit if they have an address.

    A mail failure is logged (without the address) and never undoes the notice.
    """
    notice = Notice.objects.create(user=user, title=title, body=body, url=url)
    email = getattr(user, "email", "")
    if email:
        link = f"{settings.SITE_URL}{url}" if url else settings.SITE_URL
        message = f"{body}\n\n{link}" if body else link

        def send() -> None:
            try:
                send_mail(title, message, None, [email])
            except Exception:
                logger.exception("notice mail for notice %s failed", notice.pk)

        transaction.on_commit(send)
    return notice
