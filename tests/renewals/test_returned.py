"""A renewal returned for correction is not a decision (SPEC 4.6): the certificate stays valid
while it is returned, also past its date, until it is resubmitted and decided, withdrawn, or
refused."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from certificates.models import Certificate, ValidityPeriod
from certificates.services import certificate_suspend, expire_due
from certportal.errors import DomainError
from certportal.models import AuditEvent
from renewals import services
from renewals.models import RenewalApplication
from renewals.services import RenewalRefused
from tests.renewals.fixtures import TODAY, fill, step_one_form

pytestmark = pytest.mark.django_db

# The story of the defect: valid until 30 June, submitted 28 June, returned 3 July for a typo.
UNTIL = date(TODAY.year + 1, 6, 30)


def at(day: date, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime(day.year, day.month, day.day, hour))


def on(time_machine, month: int, day: int) -> date:
    """Move the clock to 10:00 on that day of the story's year (local time)."""
    time_machine.move_to(at(date(UNTIL.year, month, day)), tick=False)
    assert timezone.localdate() == date(UNTIL.year, month, day)
    return timezone.localdate()


def reread(certificate) -> Certificate:
    return Certificate.objects.get(pk=certificate.pk)


@pytest.fixture
def returned_after_expiry(certificate, ce_staff, authority_staff, time_machine):
    """Submitted on 28 June, the certificate valid until 30 June; returned on 3 July."""
    Certificate.objects.filter(pk=certificate.pk).update(
        valid_from=date(UNTIL.year - 2, 7, 1), valid_until=UNTIL
    )
    certificate.refresh_from_db()
    on(time_machine, 6, 1)
    services.ce_record_create(
        actor=ce_staff,
        name=certificate.holder_name,
        id_number=certificate.holder_id_number,
        mode="online",
        hours=Decimal(24),
        completed_on=date(UNTIL.year, 5, 20),
        course="安全生产继续教育",
    )
    on(time_machine, 6, 28)
    renewal = services.renewal_submit(
        renewal=fill(certificate), actor=certificate.holder, signature_name=certificate.holder_name
    )
    on(time_machine, 7, 3)
    return services.renewal_return(renewal=renewal, actor=authority_staff, reason="承诺日期有误")


def resubmit(renewal):
    return services.renewal_submit(
        renewal=renewal,
        actor=renewal.applicant,
        signature_name=renewal.certificate.holder_name,
    )


def test_returned_after_expiry_keeps_the_certificate_valid_through_the_nightly_sweep(
    returned_after_expiry, time_machine
):
    certificate = reread(returned_after_expiry.certificate)
    assert returned_after_expiry.status == "returned"
    assert certificate.renewal_pending
    assert certificate.effective_status == "01"
    on(time_machine, 7, 4)
    assert expire_due() == 0
    certificate = reread(certificate)
    assert (certificate.status, certificate.effective_status) == ("01", "01")


def test_returned_after_expiry_is_resubmitted_and_approval_gives_the_new_validity(
    returned_after_expiry, authority_staff, time_machine
):
    on(time_machine, 7, 5)
    again = resubmit(returned_after_expiry)
    assert again.status == "submitted"
    assert timezone.localdate(again.submitted_at) == date(UNTIL.year, 7, 5)
    assert again.first_submitted_on == date(UNTIL.year, 6, 28)
    on(time_machine, 7, 8)
    approved = services.renewal_approve(renewal=again, actor=authority_staff)
    certificate = reread(approved.certificate)
    assert approved.status == "approved"
    assert (certificate.valid_from, certificate.valid_until) == (
        date(UNTIL.year, 7, 1),
        date(UNTIL.year + 2, 6, 30),
    )
    assert not certificate.renewal_pending
    assert certificate.effective_status == "01"
    assert ValidityPeriod.objects.filter(certificate=certificate, reason="renewed").count() == 1


def test_returned_renewal_shows_its_window_as_met_on_the_first_submission_day(
    returned_after_expiry, time_machine
):
    from renewals.rules import renewal_checks

    on(time_machine, 7, 5)
    certificate = reread(returned_after_expiry.certificate)
    window = next(c for c in renewal_checks(certificate) if c.code == "window")
    assert not window.passed and "已经结束" in window.message
    window = next(
        c
        for c in renewal_checks(certificate, submitted_on=returned_after_expiry.first_submitted_on)
        if c.code == "window"
    )
    assert window.passed and "6月28日" in window.message


def test_resubmission_after_expiry_is_still_refused_for_the_other_rules(
    returned_after_expiry, authority_staff, time_machine
):
    on(time_machine, 7, 5)
    certificate = reread(returned_after_expiry.certificate)
    for days_ago in (5, 50, 100):
        services.conduct_record_create(
            actor=authority_staff,
            certificate=certificate,
            kind="violation",
            occurred_on=timezone.localdate() - timedelta(days=days_ago),
            description="未系安全带",
        )
    with pytest.raises(RenewalRefused) as exc:
        resubmit(returned_after_expiry)
    assert {c.code for c in exc.value.checks} == {"violations"}

    certificate_suspend(certificate=certificate, actor=authority_staff, reason="调查事故")
    with pytest.raises(RenewalRefused) as exc:
        resubmit(returned_after_expiry)
    assert {c.code for c in exc.value.checks} == {"status", "violations"}
    assert RenewalApplication.objects.get(pk=returned_after_expiry.pk).status == "returned"


def test_a_renewal_never_submitted_in_time_is_refused_for_the_window(
    certificate, ce_staff, time_machine
):
    Certificate.objects.filter(pk=certificate.pk).update(
        valid_from=date(UNTIL.year - 2, 7, 1), valid_until=UNTIL
    )
    certificate.refresh_from_db()
    on(time_machine, 7, 3)
    with pytest.raises(RenewalRefused) as exc:
        resubmit(fill(certificate))
    assert {"window", "status"} <= {c.code for c in exc.value.checks}


def test_withdrawing_a_returned_renewal_leaves_the_certificate_expired(
    returned_after_expiry, time_machine
):
    on(time_machine, 7, 6)
    withdrawn = services.renewal_withdraw(
        renewal=returned_after_expiry, actor=returned_after_expiry.applicant
    )
    assert withdrawn.status == "withdrawn"
    certificate = reread(withdrawn.certificate)
    assert not certificate.renewal_pending
    assert certificate.effective_status == "06"
    assert expire_due() == 1
    assert reread(certificate).status == "06"
    event = AuditEvent.objects.get(action="renewals.renewal.withdrawn")
    assert (event.from_state, event.to_state) == ("returned", "withdrawn")
    with pytest.raises(DomainError):
        resubmit(withdrawn)


def test_withdrawing_twice_changes_nothing(returned_after_expiry):
    holder = returned_after_expiry.applicant
    withdrawn = services.renewal_withdraw(renewal=returned_after_expiry, actor=holder)
    again = services.renewal_withdraw(renewal=withdrawn, actor=holder)
    assert again.status == "withdrawn"
    assert AuditEvent.objects.filter(action="renewals.renewal.withdrawn").count() == 1


def test_a_submitted_renewal_cannot_be_withdrawn(submitted_renewal):
    with pytest.raises(DomainError, match="撤回"):
        services.renewal_withdraw(renewal=submitted_renewal, actor=submitted_renewal.applicant)
    assert Certificate.objects.get(pk=submitted_renewal.certificate_id).renewal_pending


def test_only_the_holder_withdraws(returned_after_expiry, other_applicant):
    with pytest.raises(DomainError):
        services.renewal_withdraw(renewal=returned_after_expiry, actor=other_applicant)
    assert RenewalApplication.objects.get(pk=returned_after_expiry.pk).status == "returned"


def test_rejecting_a_returned_renewal_leaves_the_certificate_expired(
    returned_after_expiry, authority_staff, time_machine
):
    on(time_machine, 7, 20)
    rejected = services.renewal_reject(
        renewal=returned_after_expiry, actor=authority_staff, reason="逾期未补正"
    )
    assert rejected.status == "rejected"
    certificate = reread(rejected.certificate)
    assert not certificate.renewal_pending
    assert certificate.effective_status == "06"


def test_the_holder_corrects_a_returned_renewal_on_its_page_after_expiry(
    client, returned_after_expiry, time_machine
):
    on(time_machine, 7, 5)
    client.force_login(returned_after_expiry.applicant)
    base = f"/me/certificates/{returned_after_expiry.certificate_id}/renewal/"
    page = client.get(base).content.decode()
    assert "延续申请正在审查" not in page and "本人承诺" in page  # the form, to correct
    assert "承诺日期有误" in page  # and why it came back
    response = client.post(base, step_one_form())
    assert response.status_code == 302, response.content.decode()[:2000]
    assert client.post(base + "delivery/", {"delivery": "electronic"}).status_code == 302
    holder_name = returned_after_expiry.certificate.holder_name
    response = client.post(base + "confirm/", {"signature_name": holder_name, "confirm": "on"})
    assert response.status_code == 302
    assert RenewalApplication.objects.get(pk=returned_after_expiry.pk).status == "submitted"


@pytest.mark.parametrize(
    "end", ["certificate_revoke", "certificate_withdraw", "certificate_cancel"]
)
def test_a_certificate_that_ends_closes_its_open_renewal(
    client, returned_after_expiry, authority_staff, end
):
    """A revoked (withdrawn, cancelled) certificate cannot be renewed: its returned renewal
    is refused with the certificate's reason, and nothing shows it as pending any more."""
    from certificates import services as certificate_services

    getattr(certificate_services, end)(
        certificate=returned_after_expiry.certificate, actor=authority_staff, reason="伪造材料"
    )
    renewal = RenewalApplication.objects.get(pk=returned_after_expiry.pk)
    certificate = reread(returned_after_expiry.certificate)
    assert renewal.status == "rejected" and "伪造材料" in renewal.reason
    assert renewal.reason.startswith("证书已" + certificate.get_status_display())
    assert not certificate.renewal_pending
    answer = client.get(
        "/api/v1/verify", {"cert_no": certificate.number, "name": certificate.holder_name}
    ).json()
    assert answer["certificates"][0]["renewal_pending"] is False
    assert AuditEvent.objects.filter(
        action="renewals.renewal.rejected", object_id=str(renewal.pk)
    ).exists()
