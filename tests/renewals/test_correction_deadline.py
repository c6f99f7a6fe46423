"""A returned renewal has a correction deadline (补正期限): without one, a holder could keep a
certificate valid for ever by never correcting a renewal submitted in time.

The story runs across the 2026 National Day holiday (1–7 October off, Saturday 10 October
worked), so that the deadline counts working days as the State Council's schedule has them:
returned on Monday 28 September, 15 working days end on Friday 23 October (a Monday-to-Friday
count would end on 19 October).
"""

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from certificates.models import Certificate
from certificates.services import expire_due
from certportal.errors import DomainError
from certportal.models import AuditEvent, Notice
from exams.models import Policy
from renewals import services
from renewals.models import RenewalApplication
from tests.renewals.fixtures import fill

pytestmark = pytest.mark.django_db

RETURNED_ON = date(2026, 9, 28)
DEADLINE = date(2026, 10, 23)


def on(time_machine, day: date) -> date:
    time_machine.move_to(
        timezone.make_aware(datetime(day.year, day.month, day.day, 10)), tick=False
    )
    assert timezone.localdate() == day
    return day


def reread(certificate) -> Certificate:
    return Certificate.objects.get(pk=certificate.pk)


def resubmit(renewal):
    return services.renewal_submit(
        renewal=renewal, actor=renewal.applicant, signature_name=renewal.certificate.holder_name
    )


@pytest.fixture
def submitted_in_time(certificate, ce_staff, time_machine):
    """Valid until 30 September 2026, submitted on 25 September."""
    Certificate.objects.filter(pk=certificate.pk).update(
        valid_from=date(2024, 10, 1), valid_until=date(2026, 9, 30)
    )
    certificate.refresh_from_db()
    on(time_machine, date(2026, 8, 1))
    services.ce_record_create(
        actor=ce_staff,
        name=certificate.holder_name,
        id_number=certificate.holder_id_number,
        mode="online",
        hours=Decimal(24),
        completed_on=date(2026, 7, 20),
        course="安全生产继续教育",
    )
    on(time_machine, date(2026, 9, 25))
    return services.renewal_submit(
        renewal=fill(certificate), actor=certificate.holder, signature_name=certificate.holder_name
    )


@pytest.fixture
def returned(submitted_in_time, authority_staff, time_machine):
    on(time_machine, RETURNED_ON)
    return services.renewal_return(
        renewal=submitted_in_time, actor=authority_staff, reason="继续教育证明不清晰。"
    )


def test_a_return_sets_the_deadline_in_working_days_and_tells_the_holder(returned):
    assert returned.status == "returned"
    assert returned.correct_by == DEADLINE
    notice = Notice.objects.filter(user=returned.applicant, title="延续申请被退回补正").get()
    assert notice.body == (
        "继续教育证明不清晰。请于2026年10月23日前（含当日）补正并重新提交；"
        "逾期未补正的，本次延续申请视为撤回。"
    )


def test_the_authoritys_policy_sets_the_number_of_working_days(
    submitted_in_time, authority_staff, time_machine
):
    Policy.objects.create(
        authority=submitted_in_time.certificate.authority, renewal_correction_working_days=5
    )
    on(time_machine, RETURNED_ON)
    renewal = services.renewal_return(
        renewal=submitted_in_time, actor=authority_staff, reason="签名有误"
    )
    # 29, 30 September; 8, 9, 10 October (a working Saturday).
    assert renewal.correct_by == date(2026, 10, 10)


def test_resubmitted_on_the_last_day_is_accepted(returned, time_machine):
    on(time_machine, DEADLINE)
    assert resubmit(returned).status == "submitted"
    assert services.close_lapsed_returns(today=date(2026, 10, 24)) == 0
    assert RenewalApplication.objects.get(pk=returned.pk).status == "submitted"


def test_after_the_deadline_the_resubmission_is_refused_and_the_sweep_closes_it(
    returned, time_machine
):
    certificate = returned.certificate
    on(time_machine, DEADLINE)
    assert services.close_lapsed_returns() == 0  # the last day is still the holder's

    on(time_machine, date(2026, 10, 24))
    with pytest.raises(DomainError, match="补正期限2026年10月23日已过，本次延续申请视为撤回"):
        resubmit(returned)
    assert RenewalApplication.objects.get(pk=returned.pk).status == "returned"

    assert services.close_lapsed_returns() == 1
    lapsed = RenewalApplication.objects.get(pk=returned.pk)
    assert lapsed.status == "withdrawn"
    assert lapsed.reason == "补正期限2026年10月23日已过，未重新提交，视为撤回。"
    event = AuditEvent.objects.get(action="renewals.renewal.lapsed", object_id=str(lapsed.pk))
    assert (event.actor_id, event.from_state, event.to_state) == (None, "returned", "withdrawn")
    assert Notice.objects.filter(
        user=lapsed.applicant, title="延续申请逾期未补正，视为撤回"
    ).exists()

    # The certificate no longer waits: past its date it is expired, and the sweep stores it.
    assert not reread(certificate).renewal_pending
    assert reread(certificate).effective_status == "06"
    assert expire_due() == 1
    assert services.close_lapsed_returns() == 0
    with pytest.raises(DomainError):
        resubmit(lapsed)


def test_the_holders_page_shows_the_deadline_and_then_that_it_passed(
    client, returned, time_machine
):
    url = f"/me/certificates/{returned.certificate_id}/renewal/"
    on(time_machine, DEADLINE)
    client.force_login(returned.applicant)
    page = client.get(url).content.decode()
    assert "请于2026年10月23日前（含当日）补正并重新提交" in page
    on(time_machine, date(2026, 10, 24))  # before the nightly task has closed it
    page = client.get(url).content.decode()
    assert "补正期限2026年10月23日已过，本次延续申请视为撤回，不能再提交。" in page
    assert "请于2026年10月23日前" not in page


def test_a_second_return_sets_a_new_deadline_and_a_resubmission_clears_it(
    returned, authority_staff, time_machine
):
    on(time_machine, date(2026, 10, 12))
    again = resubmit(returned)
    assert again.correct_by is None
    on(time_machine, date(2026, 10, 14))
    again = services.renewal_return(renewal=again, actor=authority_staff, reason="签名有误")
    # 15 working days from Wednesday 14 October.
    assert again.correct_by == date(2026, 11, 4)
    assert services.close_lapsed_returns(today=date(2026, 10, 26)) == 0


def test_after_the_lapse_staff_can_no_longer_decide_it(returned, authority_staff, time_machine):
    on(time_machine, date(2026, 10, 26))
    assert services.close_lapsed_returns() == 1
    lapsed = RenewalApplication.objects.get(pk=returned.pk)
    with pytest.raises(DomainError, match="已撤回"):
        services.renewal_reject(renewal=lapsed, actor=authority_staff, reason="逾期")
    assert RenewalApplication.objects.get(pk=returned.pk).status == "withdrawn"


def test_renewals_returned_before_deadlines_existed_get_one(returned, time_machine):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("renewals.migrations.0005_deadline_for_returned_renewals")
    RenewalApplication.objects.filter(pk=returned.pk).update(correct_by=None)
    on(time_machine, date(2026, 10, 30))  # a Friday: 15 working days end on 20 November
    migration.give_deadlines(apps, None)
    assert RenewalApplication.objects.get(pk=returned.pk).correct_by == date(2026, 11, 20)


def test_the_nightly_task_closes_lapsed_returns(returned, time_machine):
    from django.conf import settings

    from certportal.celery import app as celery_app
    from renewals.tasks import close_lapsed_renewals

    schedule = settings.CELERY_BEAT_SCHEDULE
    nightly = schedule["close-lapsed-renewals"]
    assert nightly["task"] in celery_app.tasks
    # Before the expiry sweep, so the certificates they kept valid expire the same night.
    assert nightly["schedule"].hour == schedule["expire-certificates"]["schedule"].hour == {0}
    assert max(nightly["schedule"].minute) < min(schedule["expire-certificates"]["schedule"].minute)

    on(time_machine, date(2026, 10, 26))
    assert close_lapsed_renewals.delay().get() == 1
    assert RenewalApplication.objects.get(pk=returned.pk).status == "withdrawn"


def test_the_certificates_list_says_the_renewal_came_back(client, returned, time_machine):
    on(time_machine, DEADLINE)
    client.force_login(returned.applicant)
    card = client.get("/me/certificates/").content.decode()
    assert "延续申请已退回补正，请于2026年10月23日前（含当日）补正并重新提交" in card
    assert "延续审查中" not in card
    on(time_machine, date(2026, 10, 24))
    client.force_login(returned.applicant)
    card = client.get("/me/certificates/").content.decode()
    assert "延续申请补正期限2026年10月23日已过，视为撤回" in card


def test_a_submitted_renewal_still_reads_under_review_on_the_list(client, submitted_renewal):
    client.force_login(submitted_renewal.applicant)
    card = client.get("/me/certificates/").content.decode()
    assert "有效 · 延续审查中" in card and "退回补正" not in card


def test_the_dashboard_puts_the_returned_renewal_first(client, returned, time_machine):
    on(time_machine, date(2026, 10, 20))
    client.force_login(returned.applicant)
    page = client.get("/me/").content.decode()
    task = "延续申请被退回补正：请于2026年10月23日前（含当日）补正并重新提交"
    assert task in page
    assert page.index(task) < page.index("<h2>我的证书</h2>")
    on(time_machine, date(2026, 10, 24))
    client.force_login(returned.applicant)
    assert task not in client.get("/me/").content.decode()
