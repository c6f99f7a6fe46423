"""What a renewal needs (SPEC 4.6): each check with its own message, and decision due dates."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import chinese_calendar
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from certificates.models import Certificate, CertificateStatus
from certificates.selectors import holder_age_limit, renewal_window, runs_to_age_limit
from exams.eligibility import add_months, format_date
from exams.selectors import policy_for

from .models import ConductRecord, ContinuingEducation, RenewalApplication

logger = logging.getLogger(__name__)

REFUSE_WITHIN_WORKING_DAYS = 5
APPROVE_WITHIN_WORKING_DAYS = 10


@dataclass(frozen=True)
class RenewalCheck:
    code: str
    passed: bool
    message: str


def window(certificate: Certificate) -> tuple[date, date]:
    """The renewal window: from ``renewal_window_days`` before expiry to the expiry day."""
    return renewal_window(certificate)


def ce_hours(certificate: Certificate) -> Decimal:
    """Continuing-education hours completed within the current validity period."""
    total = (
        ContinuingEducation.objects.in_force()
        .filter(
            holder_id_index=certificate.holder_id_index,
            completed_on__gte=certificate.valid_from,
            completed_on__lte=certificate.valid_until,
        )
        .aggregate(total=Sum("hours"))["total"]
    )
    return total or Decimal(0)


def violations_counted(certificate: Certificate, today: date) -> int:
    years = policy_for(certificate.authority).violations_lookback_years
    since = add_months(today, -12 * years)
    return (
        ConductRecord.objects.in_force()
        .filter(
            certificate__holder_id_index=certificate.holder_id_index,
            kind=ConductRecord.Kind.VIOLATION,
            occurred_on__gt=since,
            occurred_on__lte=today,
        )
        .count()
    )


def accidents(certificate: Certificate) -> int:
    """Accident responsibility during the current validity period (any such record refuses).

    A renewal approved ahead of the expiry puts the recorded period in the future while the
    old one still runs: an accident its decision did not see (one that happened, or was
    entered, after the decision) counts too."""
    records = ConductRecord.objects.in_force().filter(
        certificate__holder_id_index=certificate.holder_id_index,
        kind=ConductRecord.Kind.ACCIDENT,
    )
    period = Q(occurred_on__gte=certificate.valid_from)
    decided = (
        RenewalApplication.objects.filter(
            certificate=certificate, status=RenewalApplication.Status.APPROVED
        )
        .order_by("-decided_at")
        .values_list("decided_at", flat=True)
        .first()
    )
    if decided is not None:
        period |= Q(created_at__gt=decided)
    return records.filter(period).count()


def accident_bars_renewal(certificate: Certificate) -> bool:
    return accidents(certificate) > 0


def renewal_checks(
    certificate: Certificate, *, today: date | None = None, submitted_on: date | None = None
) -> list[RenewalCheck]:
    """Every check of SPEC 4.6, passed or not, in the order a holder would fix them.

    ``submitted_on`` is the day a renewal returned for correction was first submitted: one
    submitted inside the window is still undecided (SPEC 4.6: it keeps the certificate valid
    until it is decided), so its resubmission passes the window check whenever it comes.
    """
    today = today or timezone.localdate()
    policy = policy_for(certificate.authority)
    checks: list[RenewalCheck] = []
    status = certificate.effective_status
    checks.append(
        RenewalCheck(
            "status",
            status == CertificateStatus.VALID,
            _("证书状态为“有效”。")
            if status == CertificateStatus.VALID
            else _("证书状态为“%(status)s”，不能申请延续。")
            % {"status": CertificateStatus(status).label},
        )
    )
    opens, closes = window(certificate)
    in_window = opens <= today <= closes
    submitted_in_time = submitted_on is not None and opens <= submitted_on <= closes
    if in_window:
        message = _("延续受理期为 %(opens)s 至 %(closes)s，今天可以申请。")
    elif submitted_in_time:
        message = _("延续申请已于 %(submitted)s 在受理期（%(opens)s 至 %(closes)s）内提交。")
    elif today < opens:
        message = _("延续受理期为 %(opens)s 至 %(closes)s，尚未开始。")
    else:
        message = _("延续受理期为 %(opens)s 至 %(closes)s，已经结束。")
    checks.append(
        RenewalCheck(
            "window",
            in_window or submitted_in_time,
            message
            % {
                "opens": format_date(opens),
                "closes": format_date(closes),
                "submitted": format_date(submitted_on) if submitted_on else "",
            },
        )
    )
    hours = ce_hours(certificate)
    required = Decimal(policy.ce_hours_required)
    checks.append(
        RenewalCheck(
            "ce_hours",
            hours >= required,
            _("本有效期内继续教育 %(hours)s 学时，需要 %(required)s 学时。")
            % {"hours": hours.normalize(), "required": required},
        )
    )
    count = violations_counted(certificate, today)
    checks.append(
        RenewalCheck(
            "violations",
            count < policy.violations_refuse_at,
            _("近 %(years)d 年违章操作记录 %(count)d 次（达到 %(limit)d 次不予延续）。")
            % {
                "years": policy.violations_lookback_years,
                "count": count,
                "limit": policy.violations_refuse_at,
            },
        )
    )
    accident_count = accidents(certificate)
    checks.append(
        RenewalCheck(
            "accident",
            accident_count == 0,
            _("无生产安全事故责任记录。")
            if accident_count == 0
            else _("有 %(count)d 条生产安全事故责任记录，不予延续。") % {"count": accident_count},
        )
    )
    limit = holder_age_limit(certificate)
    if today >= limit:
        message = _("已达到年龄上限（%(limit)s），不能延续。")
    elif runs_to_age_limit(certificate):
        # Its validity was cut at the age limit already: a renewal would add nothing, and
        # must not keep it "valid pending renewal" past that day.
        message = _("证书有效期已截至年龄上限（%(limit)s）的前一日，不能再延续。")
    else:
        message = _("未达到年龄上限（%(limit)s）。")
    checks.append(
        RenewalCheck(
            "age",
            today < limit and not runs_to_age_limit(certificate),
            message % {"limit": format_date(limit)},
        )
    )
    return checks


def failing(checks: list[RenewalCheck]) -> list[RenewalCheck]:
    return [c for c in checks if not c.passed]


def is_working_day(day: date) -> bool:
    """A working day by the State Council's holiday schedule (chinese-calendar). For a year
    whose schedule the installed package does not have yet (it is published each November or
    December), Monday to Friday, logged once a year: due dates may then be off by the days a
    holiday moves, but the portal keeps working; upgrading chinesecalendar brings the schedule."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            logger.warning(
                "chinesecalendar has no holiday schedule for %s: counting Monday to Friday "
                "(upgrade the package)",
                day.year,
            )
        return day.weekday() < 5


_warned_years: set[int] = set()


def add_working_days(start: date, days: int) -> date:
    """The ``days``-th working day after ``start`` (Chinese public holidays and adjusted
    working weekends counted)."""
    current, counted = start, 0
    while counted < days:
        current += timedelta(days=1)
        if is_working_day(current):
            counted += 1
    return current


def due_dates(submitted_at: datetime) -> tuple[date, date]:
    """(refuse by, approve by): 5 and 10 working days after the day of submission."""
    day = timezone.localtime(submitted_at).date()
    return add_working_days(day, REFUSE_WITHIN_WORKING_DAYS), add_working_days(
        day, APPROVE_WITHIN_WORKING_DAYS
    )
