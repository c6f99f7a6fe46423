"""Each province (or city) sets its own renewal rules (SPEC 2, 4.6): the checks read the
certificate's authority's policy, not the defaults. One test per rule, each with a value
other than the default, so that a hard-coded 90 days, 24 hours, 3 violations or 2 years
would fail here."""

from datetime import timedelta

import pytest

from exams.selectors import policy_for
from renewals import services

from .fixtures import TODAY, add_hours, codes, expiring

pytestmark = pytest.mark.django_db


def set_policy(certificate, **values):
    policy = policy_for(certificate.authority)
    for name, value in values.items():
        setattr(policy, name, value)
    policy.save()


def test_the_window_is_the_authoritys(certificate, ce_staff):
    certificate = expiring(certificate, days_left=60)
    add_hours(certificate, ce_staff, 24)
    assert "window" not in codes(certificate)  # 60 days left: inside the default 90
    set_policy(certificate, renewal_window_days=30)
    assert "window" in codes(certificate)
    assert "window" not in codes(certificate, today=TODAY + timedelta(days=30))


def test_the_continuing_education_hours_are_the_authoritys(certificate, ce_staff):
    certificate = expiring(certificate)
    add_hours(certificate, ce_staff, 16)
    assert "ce_hours" in codes(certificate)  # the default asks 24
    set_policy(certificate, ce_hours_required=16)
    assert "ce_hours" not in codes(certificate)
    set_policy(certificate, ce_hours_required=40)
    assert "ce_hours" in codes(certificate)


def test_violations_are_counted_by_the_authoritys_limit_and_years(
    certificate, ce_staff, authority_staff
):
    certificate = expiring(certificate)
    add_hours(certificate, ce_staff, 24)
    for days_ago in (400, 30):
        services.conduct_record_create(
            actor=authority_staff,
            certificate=certificate,
            kind="violation",
            occurred_on=TODAY - timedelta(days=days_ago),
            description=f"{days_ago} 天前违章作业",
        )
    assert "violations" not in codes(certificate)  # 2 of the default 3 in 2 years
    set_policy(certificate, violations_refuse_at=2)
    assert "violations" in codes(certificate)
    set_policy(certificate, violations_lookback_years=1)  # the one 400 days ago drops out
    assert "violations" not in codes(certificate)
