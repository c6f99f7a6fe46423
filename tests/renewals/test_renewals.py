import io
from datetime import date, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from openpyxl import Workbook

from certificates.models import Certificate, CertificatePdf, ValidityPeriod
from certportal.errors import DomainError
from certportal.imports import ImportRefused
from certportal.models import AuditEvent
from certportal.pii import mask_id_number
from exams.models import Institution
from renewals import services
from renewals.models import ConductRecord, ContinuingEducation, RenewalApplication
from renewals.rules import add_working_days, ce_hours, due_dates, renewal_checks
from renewals.services import RenewalRefused
from tests.factories import staff_factory
from tests.renewals.fixtures import TODAY, add_hours, codes, expiring, fill

pytestmark = pytest.mark.django_db


# --- checks -------------------------------------------------------------------------------


def test_window_first_and_last_day_and_the_days_around(ready):
    until = ready.valid_until
    assert "window" in codes(ready, today=until - timedelta(days=91))
    assert "window" not in codes(ready, today=until - timedelta(days=90))
    assert "window" not in codes(ready, today=until)
    assert "window" in codes(ready, today=until + timedelta(days=1))


def test_ce_hours_one_short_and_exact(certificate, ce_staff):
    certificate = expiring(certificate)
    add_hours(certificate, ce_staff, "23")
    assert "ce_hours" in codes(certificate)
    add_hours(certificate, ce_staff, "1", on=TODAY - timedelta(days=9))
    assert "ce_hours" not in codes(certificate)


def test_ce_hours_outside_the_period_do_not_count(certificate, ce_staff):
    certificate = expiring(certificate)
    add_hours(certificate, ce_staff, 24, on=certificate.valid_from - timedelta(days=1))
    assert "ce_hours" in codes(certificate)


def violation(certificate, actor, days_ago, kind="violation"):
    return services.conduct_record_create(
        actor=actor,
        certificate=certificate,
        kind=kind,
        occurred_on=TODAY - timedelta(days=days_ago),
        description="未系安全带",
    )


def test_three_violations_in_two_years_refused_but_not_with_one_older(ready, authority_staff):
    for days_ago in (10, 200, 400):
        violation(ready, authority_staff, days_ago)
    assert "violations" in codes(ready)
    ConductRecord.objects.filter(occurred_on=TODAY - timedelta(days=400)).update(
        occurred_on=TODAY - timedelta(days=2 * 366 + 5)
    )
    assert "violations" not in codes(ready)


def test_an_accident_record_refuses(ready, authority_staff):
    violation(ready, authority_staff, 30, kind="accident")
    assert "accident" in codes(ready)


def test_an_accident_after_an_early_renewal_counts_at_the_next_one(
    submitted_renewal, authority_staff
):
    """Approved 30 days before the expiry, the recorded period starts after the old one ends;
    an accident in those 30 days (or one entered after the decision) was seen by no decision
    and refuses the next renewal."""
    certificate = submitted_renewal.certificate
    services.renewal_approve(renewal=submitted_renewal, actor=authority_staff)
    certificate.refresh_from_db()
    assert certificate.valid_from > TODAY
    assert "accident" not in codes(certificate, today=certificate.valid_until)
    violation(certificate, authority_staff, 0, kind="accident")
    assert "accident" in codes(certificate, today=certificate.valid_until)


def test_an_accident_record_stops_the_invitation_and_the_form(client, ready, authority_staff):
    """Nothing the holder does changes an accident-responsibility record of the period: the
    dashboard and the certificate list no longer invite a renewal, the renewal page says why
    and offers no form, and no draft is made."""
    from certificates.selectors import renewal_offered

    client.force_login(ready.holder)
    assert renewal_offered(ready, TODAY)
    assert "申请延续" in client.get("/me/").content.decode()
    violation(ready, authority_staff, 30, kind="accident")
    assert not renewal_offered(ready, TODAY)
    assert "证书已进入延续受理期" not in client.get("/me/").content.decode()
    listing = client.get("/me/certificates/").content.decode()
    assert "延续受理期已开始：申请延续" not in listing and "继续教育学时与延续" in listing
    page = client.get(f"/me/certificates/{ready.pk}/renewal/").content.decode()
    assert "生产安全事故责任记录，不予延续" in page and 'name="ce_city"' not in page
    with pytest.raises(RenewalRefused):
        fill(ready)
    assert not RenewalApplication.objects.exists()


def test_holder_past_the_age_limit_refused(ready):
    Certificate.objects.filter(pk=ready.pk).update(
        holder_birth_date=date(1950, 1, 1), holder_sex="M"
    )
    ready.refresh_from_db()
    assert "age" in codes(ready)


def runs_to_the_age_limit(certificate):
    """Make the holder a woman whose 55th birthday is the day after the certificate ends: its
    validity was cut at the age limit, as issuance and renewal cut it."""
    from exams.eligibility import add_months

    birth = add_months(certificate.valid_until + timedelta(days=1), -12 * 55)
    Certificate.objects.filter(pk=certificate.pk).update(holder_birth_date=birth, holder_sex="F")
    certificate.refresh_from_db()
    return certificate


def test_a_certificate_that_ends_at_the_age_limit_cannot_be_renewed(ready, client):
    """Before, the age check passed until the limit itself: the holder was invited to renew,
    and a submitted renewal kept the certificate 有效 past the retirement date while it could
    never be approved."""
    certificate = runs_to_the_age_limit(ready)
    [age] = [c for c in renewal_checks(certificate) if c.code == "age"]
    assert not age.passed and "不能再延续" in age.message
    with pytest.raises(RenewalRefused) as exc:
        services.renewal_submit(
            renewal=fill(certificate),
            actor=certificate.holder,
            signature_name=certificate.holder_name,
        )
    assert {c.code for c in exc.value.checks} == {"age"}
    assert not Certificate.objects.get(pk=certificate.pk).renewal_pending

    client.force_login(certificate.holder)
    assert "延续受理期已开始：申请延续" not in client.get("/me/certificates/").content.decode()


def test_no_renew_link_while_a_renewal_is_pending(submitted_renewal, client):
    client.force_login(submitted_renewal.applicant)
    page = client.get("/me/certificates/").content.decode()
    assert "延续受理期已开始：申请延续" not in page and "延续审查中" in page


def test_the_expiry_reminder_of_a_certificate_ending_at_the_age_limit_offers_no_renewal(
    ready,
):
    from certificates.services import send_expiry_reminders
    from certportal.models import Notice

    certificate = runs_to_the_age_limit(ready)
    assert send_expiry_reminders() == 1
    notice = Notice.objects.get(user=certificate.holder, title__contains="到期")
    assert "不能延续" in notice.body and "申请延续" not in notice.body


def test_suspended_certificate_cannot_renew(ready, authority_staff):
    from certificates.services import certificate_suspend

    certificate_suspend(certificate=ready, actor=authority_staff, reason="调查")
    ready.refresh_from_db()
    assert "status" in codes(ready)


# --- the application ----------------------------------------------------------------------


def test_submit_keeps_the_certificate_valid_past_its_date_until_decided(submitted_renewal):
    assert submitted_renewal.status == "submitted" and submitted_renewal.signed_at
    certificate = Certificate.objects.get(pk=submitted_renewal.certificate_id)
    assert certificate.renewal_pending
    Certificate.objects.filter(pk=certificate.pk).update(valid_until=TODAY - timedelta(days=3))
    certificate.refresh_from_db()
    assert certificate.effective_status == "01"
    assert AuditEvent.objects.filter(action="renewals.renewal.submitted").count() == 1


def test_submit_needs_every_declaration_and_a_matching_signature(ready):
    renewal = fill(ready, declare_training=False)
    with pytest.raises(DomainError, match="承诺"):
        services.renewal_submit(
            renewal=renewal, actor=ready.holder, signature_name=ready.holder_name
        )
    renewal = fill(ready)
    with pytest.raises(DomainError, match="电子签名"):
        services.renewal_submit(renewal=renewal, actor=ready.holder, signature_name="王小")
    renewal.refresh_from_db()
    assert renewal.status == "draft"


def test_the_signature_must_match_the_profile_as_well_as_the_certificate(ready):
    """SPEC 4.6: the typed name must match the profile. When the worker has changed the
    profile's name since the certificate was issued, neither name is taken over the other:
    the submission is refused, saying what to do, and the renewal stays a draft."""
    from applicants.models import Profile

    renewal = fill(ready)
    Profile.objects.filter(user=ready.holder).update(name="王晓明")
    for typed in (ready.holder_name, "王晓明"):
        with pytest.raises(DomainError, match=r"王晓明.*不一致.*联系发证机关") as exc:
            services.renewal_submit(renewal=renewal, actor=ready.holder, signature_name=typed)
        assert ready.holder_name in str(exc.value)
    renewal.refresh_from_db()
    assert renewal.status == "draft" and not renewal.signature_name

    Profile.objects.filter(user=ready.holder).update(name=ready.holder_name)
    row = services.renewal_submit(
        renewal=renewal, actor=ready.holder, signature_name=ready.holder_name
    )
    assert row.status == "submitted"


def test_submit_refused_with_every_failing_check(certificate):
    renewal = fill(expiring(certificate, days_left=30))  # a draft begun inside the window
    certificate = expiring(certificate, days_left=200)  # (the window then moved away)
    with pytest.raises(RenewalRefused) as exc:
        services.renewal_submit(
            renewal=renewal, actor=certificate.holder, signature_name=certificate.holder_name
        )
    assert {c.code for c in exc.value.checks} == {"window", "ce_hours"}
    assert not Certificate.objects.get(pk=certificate.pk).renewal_pending


def test_no_new_renewal_is_begun_that_could_never_be_submitted(client, certificate):
    """Outside the window (or for a certificate not valid), the page shows the conditions and
    no form, and a new draft is refused naming why: the holder no longer fills three steps in
    to be refused at the last."""
    certificate = expiring(certificate, days_left=200)
    with pytest.raises(RenewalRefused) as exc:
        fill(certificate)
    assert {c.code for c in exc.value.checks} == {"window"}
    assert not RenewalApplication.objects.filter(certificate=certificate).exists()
    client.force_login(certificate.holder)
    page = client.get(f"/me/certificates/{certificate.pk}/renewal/").content.decode()
    assert "目前不能申请延续" in page and "本人承诺" not in page


def test_a_draft_the_window_left_behind_shows_no_form_but_can_be_withdrawn(client, ready):
    renewal = fill(ready)
    expiring(ready, days_left=200)
    client.force_login(ready.holder)
    page = client.get(f"/me/certificates/{ready.pk}/renewal/").content.decode()
    assert "目前不能申请延续" in page and "本人承诺（须逐项勾选）" not in page
    assert 'id="withdraw-renewal"' in page
    assert RenewalApplication.objects.get(pk=renewal.pk).status == "draft"


def test_only_the_holder_renews(ready, other_applicant):
    with pytest.raises(DomainError):
        services.renewal_save_draft(
            certificate=ready,
            actor=other_applicant,
            ce_city="",
            ce_district="",
            declare_health=True,
            declare_no_accident=True,
            declare_violations=True,
            declare_training=True,
        )


def test_submit_twice_changes_nothing(submitted_renewal):
    again = services.renewal_submit(
        renewal=submitted_renewal,
        actor=submitted_renewal.applicant,
        signature_name=submitted_renewal.certificate.holder_name,
    )
    assert again.status == "submitted"
    assert AuditEvent.objects.filter(action="renewals.renewal.submitted").count() == 1


def test_approval_extends_validity_records_period_and_rerenders(
    submitted_renewal, authority_staff, django_capture_on_commit_callbacks
):
    old = Certificate.objects.get(pk=submitted_renewal.certificate_id)
    old_pdf = old.pdf.name
    with django_capture_on_commit_callbacks(execute=True):
        approved = services.renewal_approve(renewal=submitted_renewal, actor=authority_staff)
    certificate = Certificate.objects.get(pk=old.pk)
    assert approved.status == "approved"
    assert certificate.valid_from == old.valid_until + timedelta(days=1)
    assert certificate.valid_until == old.valid_until.replace(year=old.valid_until.year + 2)
    assert not certificate.renewal_pending
    assert ValidityPeriod.objects.filter(certificate=certificate, reason="renewed").count() == 1
    assert certificate.ecert_version == 2 and certificate.pdf.name != old_pdf
    assert CertificatePdf.objects.filter(certificate=certificate).count() == 2
    services.renewal_approve(renewal=approved, actor=authority_staff)
    assert ValidityPeriod.objects.filter(certificate=certificate, reason="renewed").count() == 1


def test_approval_dates_across_a_leap_day(submitted_renewal, authority_staff):
    Certificate.objects.filter(pk=submitted_renewal.certificate_id).update(
        valid_from=date(2026, 3, 1), valid_until=date(2028, 2, 29)
    )
    services.renewal_approve(renewal=submitted_renewal, actor=authority_staff)
    certificate = Certificate.objects.get(pk=submitted_renewal.certificate_id)
    assert (certificate.valid_from, certificate.valid_until) == (
        date(2028, 3, 1),
        date(2030, 2, 28),
    )


def test_a_renewal_adds_the_years_to_the_old_last_day(submitted_renewal, authority_staff):
    """SPEC 4.6: new valid-until = old valid-until + validity years. Valid until 28 February
    2030, renewed: 1 March 2030 to 28 February 2032, though 2032 has a 29th."""
    certificate = submitted_renewal.certificate
    # (Its present term starts where the fixture's CE hours fall.)
    Certificate.objects.filter(pk=certificate.pk).update(
        valid_from=date(2026, 3, 1), valid_until=date(2030, 2, 28)
    )
    services.renewal_approve(renewal=submitted_renewal, actor=authority_staff)
    certificate.refresh_from_db()
    assert (certificate.valid_from, certificate.valid_until) == (
        date(2030, 3, 1),
        date(2032, 2, 28),
    )


def test_approval_capped_at_the_age_limit(submitted_renewal, authority_staff):
    from exams.eligibility import add_months

    # A woman reaching 55 a year from now: the new period ends the day before.
    limit = add_months(TODAY, 12)
    birth = add_months(limit, -12 * 55)
    Certificate.objects.filter(pk=submitted_renewal.certificate_id).update(
        holder_birth_date=birth, holder_sex="F"
    )
    services.renewal_approve(renewal=submitted_renewal, actor=authority_staff)
    certificate = Certificate.objects.get(pk=submitted_renewal.certificate_id)
    assert certificate.valid_until == limit - timedelta(days=1)


def test_return_and_resubmit(submitted_renewal, authority_staff):
    returned = services.renewal_return(
        renewal=submitted_renewal, actor=authority_staff, reason="请补充学时证明"
    )
    assert returned.status == "returned" and returned.reason == "请补充学时证明"
    # A return is not a decision: the certificate keeps waiting for the renewal.
    assert Certificate.objects.get(pk=returned.certificate_id).renewal_pending
    again = services.renewal_submit(
        renewal=returned, actor=returned.applicant, signature_name=returned.certificate.holder_name
    )
    assert again.status == "submitted"


def test_reject_is_final_and_needs_a_reason(submitted_renewal, authority_staff):
    with pytest.raises(DomainError, match="原因"):
        services.renewal_reject(renewal=submitted_renewal, actor=authority_staff, reason="")
    rejected = services.renewal_reject(
        renewal=submitted_renewal, actor=authority_staff, reason="事故责任"
    )
    assert rejected.status == "rejected"
    with pytest.raises(DomainError):
        services.renewal_approve(renewal=rejected, actor=authority_staff)


def test_staff_of_another_authority_cannot_decide(submitted_renewal, other_authority_staff):
    with pytest.raises(DomainError, match="无权"):
        services.renewal_approve(renewal=submitted_renewal, actor=other_authority_staff)
    with pytest.raises(DomainError, match="无权"):
        services.renewal_return(renewal=submitted_renewal, actor=other_authority_staff, reason="x")


# --- due dates ----------------------------------------------------------------------------


def test_due_dates_skip_the_national_day_holiday():
    # Submitted on 30 September 2025, the day before the National Day / Mid-Autumn holiday
    # (1–8 October 2025 off; Sunday 28 September and Saturday 11 October are working days).
    submitted = timezone.make_aware(datetime(2025, 9, 30, 10, 0))
    refuse_by, approve_by = due_dates(submitted)
    # Working days after it: 9, 10, 11 (a worked Saturday), 13, 14 → the 5th is 14 October;
    # then 15, 16, 17, 20, 21 → the 10th is 21 October.
    assert refuse_by == date(2025, 10, 14)
    assert approve_by == date(2025, 10, 21)
    assert add_working_days(date(2025, 9, 26), 1) == date(2025, 9, 28)  # a worked Sunday


def test_due_dates_in_a_year_without_a_published_schedule_count_weekdays(caplog):
    """chinesecalendar knows a year only once the State Council publishes it; a renewal
    submitted beyond that still gets its due dates (Monday to Friday) and an operator warning,
    not a server error on the renewal list."""
    submitted = timezone.make_aware(datetime(2031, 3, 7, 10, 0))  # a Friday
    refuse_by, approve_by = due_dates(submitted)
    assert refuse_by == date(2031, 3, 14)
    assert approve_by == date(2031, 3, 21)
    assert "no holiday schedule for 2031" in caplog.text


# --- CE records and import ----------------------------------------------------------------


def ce_xlsx(rows):
    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "身份证号", "方式", "学时", "完成日期"])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_ce_import_good_file_counts_toward_the_holder(certificate, ce_staff):
    certificate = expiring(certificate)
    data = ce_xlsx(
        [
            [
                certificate.holder_name,
                certificate.holder_id_number,
                "线上",
                16,
                TODAY - timedelta(days=5),
            ],
            [certificate.holder_name, certificate.holder_id_number.lower(), "线下", 8.0, TODAY],
        ]
    )
    assert services.ce_import(actor=ce_staff, data=data, filename="ce.xlsx") == 2
    assert "ce_hours" not in codes(certificate)


def test_ce_import_one_bad_row_refuses_the_whole_file(certificate, ce_staff):
    rows = [
        [
            certificate.holder_name,
            certificate.holder_id_number,
            "线上",
            2,
            TODAY - timedelta(days=n),
        ]
        for n in range(30)
    ]
    rows[11][3] = 0
    rows[20][4] = TODAY + timedelta(days=3)
    with pytest.raises(ImportRefused) as exc:
        services.ce_import(actor=ce_staff, data=ce_xlsx(rows), filename="ce.xlsx")
    assert [(e.row, e.column) for e in exc.value.errors] == [(13, "学时"), (22, "完成日期")]
    assert not ContinuingEducation.objects.exists()


def ce_file(certificate, *rows, name=None):
    return ce_xlsx(
        [
            [name or certificate.holder_name, certificate.holder_id_number, mode, hours, on]
            for mode, hours, on in rows
        ]
    )


def test_ce_import_of_the_same_file_twice_is_refused_the_second_time(certificate, ce_staff):
    certificate = expiring(certificate)
    data = ce_file(
        certificate, ("线上", 16, TODAY - timedelta(days=5)), ("线下", 8, TODAY - timedelta(days=3))
    )
    assert services.ce_import(actor=ce_staff, data=data, filename="ce.xlsx") == 2
    hours = ce_hours(certificate)
    assert hours == 24
    with pytest.raises(ImportRefused) as exc:
        services.ce_import(actor=ce_staff, data=data, filename="ce-again.xlsx")
    assert [(e.row, e.column) for e in exc.value.errors] == [
        (2, "身份证号、完成日期、课程"),
        (3, "身份证号、完成日期、课程"),
    ]
    assert "已于" in exc.value.errors[0].message and "录入过" in exc.value.errors[0].message
    assert certificate.holder_id_number not in exc.value.errors[0].message
    assert ContinuingEducation.objects.count() == 2
    assert ce_hours(certificate) == hours
    assert AuditEvent.objects.filter(action="renewals.ce.imported").count() == 1


def test_a_ce_file_named_after_a_person_is_audited_without_the_id_number(certificate, ce_staff):
    certificate = expiring(certificate)
    data = ce_file(certificate, ("线上", 16, TODAY - timedelta(days=5)))
    number = certificate.holder_id_number
    services.ce_import(actor=ce_staff, data=data, filename=f"王小明-{number}-继续教育.xlsx")
    event = AuditEvent.objects.get(action="renewals.ce.imported")
    assert event.data["file"] == f"王小明-{mask_id_number(number)}-继续教育.xlsx"


def test_ce_import_with_two_identical_rows_is_refused_whole(certificate, ce_staff):
    day = TODAY - timedelta(days=5)
    data = ce_file(
        certificate, ("线上", 8, day), ("线下", 4, day - timedelta(days=1)), ("线上", 8, day)
    )
    with pytest.raises(ImportRefused) as exc:
        services.ce_import(actor=ce_staff, data=data, filename="ce.xlsx")
    assert [e.row for e in exc.value.errors] == [4]
    assert "与第 2 行是同一条继续教育记录" in exc.value.errors[0].message
    assert not ContinuingEducation.objects.exists()


def test_ce_import_keeps_courses_of_one_day_and_other_providers_apart(certificate, ce_staff):
    day = TODAY - timedelta(days=5)
    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "身份证号", "方式", "学时", "完成日期", "课程"])
    for course in ("塔式起重机安全操作", "施工现场临时用电"):
        sheet.append(
            [certificate.holder_name, certificate.holder_id_number, "线下", 4, day, course]
        )
    out = io.BytesIO()
    book.save(out)
    assert services.ce_import(actor=ce_staff, data=out.getvalue(), filename="ce.xlsx") == 2
    platform = staff_factory(
        institution=Institution.objects.get(name="福建示例建设从业人员继续教育平台")
    )
    assert services.ce_import(actor=platform, data=out.getvalue(), filename="ce.xlsx") == 2
    assert ContinuingEducation.objects.count() == 4


def test_ce_record_entered_twice_is_refused(certificate, ce_staff):
    day = TODAY - timedelta(days=4)
    add_hours(certificate, ce_staff, 8, on=day)
    with pytest.raises(ValidationError, match="不能重复计入学时"):
        add_hours(certificate, ce_staff, 8, on=day)
    assert ContinuingEducation.objects.count() == 1


def test_only_continuing_education_providers_record_hours(certificate, assessor):
    with pytest.raises(DomainError):
        add_hours(certificate, assessor, 8)


def test_open_renewal_is_unique_per_certificate(submitted_renewal):
    with pytest.raises(DomainError):
        fill(submitted_renewal.certificate)
    assert RenewalApplication.objects.count() == 1


def test_ce_import_names_every_bad_cell_of_a_row_at_once(certificate, ce_staff):
    """A row with a bad ID number, mode and hours and a future completion date is told all
    four in one go, not the date only after the others are mended."""
    bad_id = certificate.holder_id_number[:17] + (
        "1" if certificate.holder_id_number[17] != "1" else "2"
    )
    rows = [[certificate.holder_name, bad_id, "面授", -3, TODAY + timedelta(days=40)]]
    with pytest.raises(ImportRefused) as exc:
        services.ce_import(actor=ce_staff, data=ce_xlsx(rows), filename="ce.xlsx")
    assert [(e.row, e.column) for e in exc.value.errors] == [
        (2, "身份证号"),
        (2, "方式"),
        (2, "学时"),
        (2, "完成日期"),
    ]
    assert "完成日期不能晚于今天" in str(exc.value.errors[-1].message)
    assert not ContinuingEducation.objects.exists()
