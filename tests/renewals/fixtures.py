"""Shared renewal fixtures and helpers (registered as a pytest plugin by the root conftest)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from certificates.models import Certificate, ValidityPeriod
from exams.models import Institution
from renewals import services
from renewals.rules import renewal_checks
from tests.factories import staff_factory

TODAY = timezone.localdate()


@pytest.fixture
def ce_staff(db):
    return staff_factory(institution=Institution.objects.get(name="泉州示例建筑职业培训学校"))


def expiring(certificate, *, days_left=30, valid_from=None):
    """Put the certificate's period end ``days_left`` days from today."""
    until = TODAY + timedelta(days=days_left)
    start = valid_from or until - timedelta(days=729)
    Certificate.objects.filter(pk=certificate.pk).update(valid_from=start, valid_until=until)
    # Its record of the period too, as issuance would have written it.
    latest = ValidityPeriod.objects.filter(certificate=certificate).order_by("-valid_from")[:1]
    ValidityPeriod.objects.filter(pk__in=latest).update(valid_from=start, valid_until=until)
    certificate.refresh_from_db()
    return certificate


def add_hours(certificate, actor, hours, on=None):
    return services.ce_record_create(
        actor=actor,
        name=certificate.holder_name,
        id_number=certificate.holder_id_number,
        mode="online",
        hours=Decimal(hours),
        completed_on=on or TODAY - timedelta(days=10),
    )


def codes(certificate, today=None):
    return {c.code for c in renewal_checks(certificate, today=today) if not c.passed}


@pytest.fixture
def ready(certificate, ce_staff):
    certificate = expiring(certificate)
    add_hours(certificate, ce_staff, 24)
    return certificate


def fill(certificate, **overrides):
    data = dict(
        ce_city="泉州",
        ce_district="丰泽区",
        declare_health=True,
        declare_no_accident=True,
        declare_violations=True,
        declare_training=True,
    )
    data.update(overrides)
    renewal = services.renewal_save_draft(certificate=certificate, actor=certificate.holder, **data)
    return services.renewal_set_delivery(
        renewal=renewal, actor=certificate.holder, delivery="electronic"
    )


@pytest.fixture
def submitted_renewal(ready):
    return services.renewal_submit(
        renewal=fill(ready), actor=ready.holder, signature_name=ready.holder_name
    )


def step_one_form(**extra) -> dict:
    """The renewal page's first step as a holder sends it: CE place and every declaration
    ticked (renewals.forms.DECLARATIONS)."""
    from renewals.forms import DECLARATIONS

    return {
        "ce_city": "泉州",
        "ce_district": "丰泽区",
        "next": "1",
        **{name: "on" for name, _label in DECLARATIONS},
        **extra,
    }
