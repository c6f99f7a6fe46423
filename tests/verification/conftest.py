"""Verification fixtures: a client that checks every response for a full ID number, fresh
rate-limit counters, and certificates in every national status."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from certificates.models import Certificate, CertificateStatus
from tests.verification.helpers import CHANGES, HOLDERS, IdGuardClient, import_holder

C = CertificateStatus


@pytest.fixture
def client():
    return IdGuardClient()


@pytest.fixture(autouse=True)
def _fresh_rate_limits(settings):
    """Each test starts with empty counters and a limit it will not reach by accident; the
    rate-limit tests set their own."""
    cache.clear()
    settings.VERIFY_RATE_LIMIT = "1000/m"
    yield
    cache.clear()


@pytest.fixture
def by_status(certificate, authority_staff, django_capture_on_commit_callbacks):
    """One certificate in each national status, each with its current PDF rendered: the issued
    one is valid; the others were imported, then suspended, revoked, withdrawn, cancelled by
    the services, or (expired) moved into the past."""
    result = {C.VALID: certificate}
    with django_capture_on_commit_callbacks(execute=True):
        for status, (name, id17, serial) in HOLDERS.items():
            result[status] = import_holder(
                actor=authority_staff, name=name, id17=id17, serial=serial
            )
    with django_capture_on_commit_callbacks(execute=True):
        for status, (change, reason) in CHANGES.items():
            change(certificate=result[status], actor=authority_staff, reason=reason)
    today = timezone.localdate()
    Certificate.objects.filter(pk=result[C.EXPIRED].pk).update(
        valid_from=today - timedelta(days=800), valid_until=today - timedelta(days=70)
    )
    for status in result:
        result[status].refresh_from_db()
    return result
