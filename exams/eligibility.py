"""The eligibility engine for exam applications (SPEC section 4.2).

Pure: no database, no clock. The caller gathers the facts about the applicant, builds the rules
from the authority's policy and passes ``today``; the engine answers with one ``Check`` per rule,
each with its own message, so every failing rule can be shown at once.

Date arithmetic follows the civil-law reading of "N months later": the same day of the month,
or the month's last day when it has no such day (31 Jan + 1 month = 28/29 Feb). The one
exception is the minimum age: a person born on 29 February turns 18 on 1 March in a common
year, the later (stricter) day. Upper limits use the month-end day, the earlier (stricter) day,
so the female age limit agrees with ``retirement_date``.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.utils.translation import gettext as _

from applicants.models import EducationLevel, Sex

MALE_BASE_RETIREMENT_YEARS = 60
MALE_MAX_EXTRA_MONTHS = 36
MALE_REFORM_FIRST_BIRTH_YEAR = 1965
MALE_BIRTH_MONTHS_PER_EXTRA_MONTH = 4
FEMALE_RETIREMENT_YEARS = 55

# An applicant this close to the upper age limit is told how long remains: a certificate is
# valid for two years, so the limit matters well before it is reached.
AGE_LIMIT_NOTE_WITHIN_MONTHS = 60


def add_months(d: date, months: int) -> date:
    """``d`` moved by ``months`` (negative goes back); a day the target month lacks becomes
    its last day."""
    month_index = d.year * 12 + (d.month - 1) + months
    year, month = divmod(month_index, 12)
    month += 1
    day = min(d.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def birthday(birth_date: date, years: int) -> date:
    """The day on which a person born on ``birth_date`` turns ``years`` old; for a 29 February
    birth that is 1 March in a common year."""
    try:
        return birth_date.replace(year=birth_date.year + years)
    except ValueError:
        return date(birth_date.year + years, 3, 1)


def term_end(start: date, years: int) -> date:
    """The last day of a term of ``years`` years that begins on ``start``: the day before its
    anniversary (``birthday``). A term from 1 March 2026 ends on 29 February 2028; one from
    29 February 2024 on 28 February 2026 (its anniversary in a common year is 1 March), not
    on the 27th. (A renewal does not start a term: SPEC 4.6 adds the years to the old last
    day.)"""
    return birthday(start, years) - timedelta(days=1)


def retirement_extra_months(birth_date: date) -> int:
    """Months added to a man's 60 years: one per started 4 months of birth after 1964-12
    (1965-01…04 → 1, 1965-05…08 → 2, …), at most 36 (born 1976-09 or later)."""
    birth_month_index = (birth_date.year - MALE_REFORM_FIRST_BIRTH_YEAR) * 12 + birth_date.month
    if birth_month_index <= 0:
        return 0
    extra = -(-birth_month_index // MALE_BIRTH_MONTHS_PER_EXTRA_MONTH)
    return min(extra, MALE_MAX_EXTRA_MONTHS)


def retirement_date(birth_date: date, sex: str) -> date:
    """The first day on which the person has reached the statutory retirement age.

    Men: 60 years plus ``retirement_extra_months``; women: 55 years (the portal's rule).
    Raises ``ValueError`` for a sex other than ``"M"`` or ``"F"``.
    """
    if sex == Sex.MALE:
        months = MALE_BASE_RETIREMENT_YEARS * 12 + retirement_extra_months(birth_date)
    elif sex == Sex.FEMALE:
        months = FEMALE_RETIREMENT_YEARS * 12
    else:
        raise ValueError(f"sex must be 'M' or 'F', not {sex!r}")
    return add_months(birth_date, months)


def upper_age_limit(birth_date: date, sex: str, *, female_max_age: int) -> date:
    """The first day the person is past the upper age limit of certificates: a man's
    statutory retirement date, a woman's ``female_max_age`` birthday (the authority's policy,
    55 by default; the same day as the eligibility check's)."""
    if sex == Sex.FEMALE:
        return add_months(birth_date, 12 * female_max_age)
    return retirement_date(birth_date, sex)


@dataclass(frozen=True)
class EligibilityFacts:
    """What the caller knows about the applicant and this application."""

    birth_date: date
    sex: str
    education: str
    medical_exam_date: date | None
    # A valid or suspended certificate of this trade, issued by any authority.
    holds_same_trade_certificate: bool
    # A passed application of the same applicant for this trade whose certificate is not yet
    # issued: the certificate is on its way, so a new exam would be for nothing.
    awaiting_same_trade_certificate: bool
    # Another open application of the same applicant for the same trade.
    has_other_open_application: bool
    # Labels of the profile materials missing or not valid, e.g. ("电子照片",).
    missing_materials: tuple[str, ...]


@dataclass(frozen=True)
class EligibilityRules:
    """The authority's rules, built by the caller from its ``Policy``; defaults are the SPEC's."""

    min_age: int = 18
    female_max_age: int = FEMALE_RETIREMENT_YEARS
    min_education: str = EducationLevel.JUNIOR.value
    medical_max_age_months: int = 3


DEFAULT_RULES = EligibilityRules()


@dataclass(frozen=True)
class Check:
    """One rule's outcome. ``message`` says what the rule is and, when it fails, why;
    ``note`` is an informative line shown even when the rule passes."""

    code: str
    passed: bool
    message: str
    note: str = ""


AGE_MIN = "age_min"
RETIREMENT = "retirement"
FEMALE_AGE = "female_age"
EDUCATION = "education"
MEDICAL_MISSING = "medical_missing"
MEDICAL_FUTURE = "medical_future"
MEDICAL_EXPIRED = "medical_expired"
HOLDS_CERTIFICATE = "holds_certificate"
OPEN_APPLICATION = "open_application"
MATERIALS = "materials"


def format_date(d: date) -> str:
    return _("%(year)d年%(month)d月%(day)d日") % {"year": d.year, "month": d.month, "day": d.day}


def format_span(start: date, end: date) -> str:
    """The time from ``start`` to a later ``end`` in whole years and months (days when under a
    month), e.g. "2 年 3 个月"."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if add_months(start, months) > end:
        months -= 1
    years, months = divmod(months, 12)
    if years and months:
        return _("%(years)d 年 %(months)d 个月") % {"years": years, "months": months}
    if years:
        return _("%(years)d 年") % {"years": years}
    if months:
        return _("%(months)d 个月") % {"months": months}
    return _("%(days)d 天") % {"days": (end - start).days}


def _near_age_limit(today: date, limit: date) -> bool:
    return today >= add_months(limit, -AGE_LIMIT_NOTE_WITHIN_MONTHS)


def _check_min_age(facts: EligibilityFacts, rules: EligibilityRules, today: date) -> Check:
    reached_on = birthday(facts.birth_date, rules.min_age)
    if today >= reached_on:
        return Check(AGE_MIN, True, _("已年满 %(age)d 周岁。") % {"age": rules.min_age})
    return Check(
        AGE_MIN,
        False,
        _("申报人须年满 %(age)d 周岁：您将于 %(date)s 年满 %(age)d 周岁。")
        % {"age": rules.min_age, "date": format_date(reached_on)},
    )


def _check_retirement(facts: EligibilityFacts, today: date) -> Check:
    limit = retirement_date(facts.birth_date, facts.sex)
    # The gradual raise (up to 36 months) read as an age: 63 周岁, 61 周岁 4 个月.
    years, months = divmod(
        MALE_BASE_RETIREMENT_YEARS * 12 + retirement_extra_months(facts.birth_date), 12
    )
    if months:
        age = _("%(years)d 周岁 %(months)d 个月") % {"years": years, "months": months}
    else:
        age = _("%(years)d 周岁") % {"years": years}
    if today < limit:
        note = ""
        if _near_age_limit(today, limit):
            note = _("距离法定退休年龄还有 %(span)s（%(date)s）。") % {
                "span": format_span(today, limit),
                "date": format_date(limit),
            }
        return Check(
            RETIREMENT, True, _("未达到法定退休年龄（%(age)s）。") % {"age": age}, note=note
        )
    return Check(
        RETIREMENT,
        False,
        _("男性申报人须未达到法定退休年龄：您已于 %(date)s 达到法定退休年龄（%(age)s）。")
        % {"date": format_date(limit), "age": age},
    )


def _check_female_age(facts: EligibilityFacts, rules: EligibilityRules, today: date) -> Check:
    limit = add_months(facts.birth_date, rules.female_max_age * 12)
    if today < limit:
        note = ""
        if _near_age_limit(today, limit):
            note = _("距离 %(age)d 周岁还有 %(span)s（%(date)s）。") % {
                "age": rules.female_max_age,
                "span": format_span(today, limit),
                "date": format_date(limit),
            }
        return Check(
            FEMALE_AGE, True, _("未满 %(age)d 周岁。") % {"age": rules.female_max_age}, note=note
        )
    return Check(
        FEMALE_AGE,
        False,
        _("女性申报人须未满 %(age)d 周岁：您已于 %(date)s 年满 %(age)d 周岁。")
        % {"age": rules.female_max_age, "date": format_date(limit)},
    )


def _check_education(facts: EligibilityFacts, rules: EligibilityRules) -> Check:
    required = EducationLevel(rules.min_education)
    if facts.education not in EducationLevel.values:
        return Check(
            EDUCATION,
            False,
            _("申报人文化程度须为%(required)s及以上：请在实名信息中填写文化程度。")
            % {"required": required.label},
        )
    actual = EducationLevel(facts.education)
    if EducationLevel.rank(actual) >= EducationLevel.rank(required):
        return Check(
            EDUCATION,
            True,
            _("文化程度%(actual)s，符合%(required)s及以上的要求。")
            % {"actual": actual.label, "required": required.label},
        )
    return Check(
        EDUCATION,
        False,
        _("申报人文化程度须为%(required)s及以上：您登记的文化程度为%(actual)s。")
        % {"required": required.label, "actual": actual.label},
    )


def earliest_valid_medical_date(today: date, max_age_months: int) -> date:
    """The earliest examination date still valid on ``today``."""
    earliest = add_months(today, -max_age_months)
    # Month-end clamping can map the day "N months before" to a date that expires too soon
    # (today 31 May: 28 Feb + 3 months = 28 May), so step forward to the first one that holds.
    while add_months(earliest, max_age_months) < today:
        earliest += timedelta(days=1)
    return earliest


def _check_medical(facts: EligibilityFacts, rules: EligibilityRules, today: date) -> list[Check]:
    months = rules.medical_max_age_months
    examined = facts.medical_exam_date
    if examined is None:
        return [
            Check(
                MEDICAL_MISSING,
                False,
                _("未填写体检日期：须提供 %(months)d 个月内的体检证明及其日期。")
                % {"months": months},
            )
        ]
    present = Check(
        MEDICAL_MISSING, True, _("体检日期为 %(date)s。") % {"date": format_date(examined)}
    )
    if examined > today:
        future = Check(
            MEDICAL_FUTURE,
            False,
            _("体检日期为 %(date)s，晚于今天（%(today)s），请核对体检日期。")
            % {"date": format_date(examined), "today": format_date(today)},
        )
        return [present, future]
    future = Check(MEDICAL_FUTURE, True, _("体检日期不晚于今天。"))
    valid_through = add_months(examined, months)
    if today <= valid_through:
        expired = Check(
            MEDICAL_EXPIRED,
            True,
            _("体检在 %(months)d 个月有效期内。") % {"months": months},
            # Eligibility is checked again at the authority's approval: say until when it holds.
            note=_("体检有效期至 %(date)s。") % {"date": format_date(valid_through)},
        )
    else:
        expired = Check(
            MEDICAL_EXPIRED,
            False,
            _(
                "体检日期为 %(date)s，已超过 %(months)d 个月有效期"
                "（须为 %(earliest)s 或之后的体检）。"
            )
            % {
                "date": format_date(examined),
                "months": months,
                "earliest": format_date(earliest_valid_medical_date(today, months)),
            },
        )
    return [present, future, expired]


def _check_certificate(facts: EligibilityFacts) -> Check:
    if facts.awaiting_same_trade_certificate and not facts.holds_same_trade_certificate:
        return Check(
            HOLDS_CERTIFICATE,
            False,
            _("您本工种已考核合格，证书正待发证机关制发，不能重复报考。"),
        )
    if not facts.holds_same_trade_certificate:
        return Check(HOLDS_CERTIFICATE, True, _("未持有相同工种的有效或暂扣证书。"))
    return Check(
        HOLDS_CERTIFICATE,
        False,
        _(
            "您已持有本工种有效或暂扣中的证书（含其他地区发证机关颁发的），不能重复报考；"
            "证书到期请申请延续。"
        ),
    )


def _check_open_application(facts: EligibilityFacts) -> Check:
    if not facts.has_other_open_application:
        return Check(OPEN_APPLICATION, True, _("没有同一工种在办理中的其他报名。"))
    return Check(
        OPEN_APPLICATION,
        False,
        _("您已有本工种的另一份报名正在办理中，请待其办结或撤回后再报名。"),
    )


def _check_materials(facts: EligibilityFacts) -> Check:
    if not facts.missing_materials:
        return Check(MATERIALS, True, _("实名材料齐全。"))
    return Check(
        MATERIALS,
        False,
        _("实名材料不齐全或未通过校验：%(materials)s。请在“我的材料”中上传后再提交。")
        % {"materials": "、".join(facts.missing_materials)},
    )


def check_eligibility(
    facts: EligibilityFacts,
    rules: EligibilityRules = DEFAULT_RULES,
    *,
    today: date,
) -> list[Check]:
    """Every rule of SPEC 4.2 as its own ``Check``, in a stable order.

    A man gets ``retirement``, a woman ``female_age``. The medical rule is three checks
    (``medical_missing``, ``medical_future``, ``medical_expired``), stopping at the first
    that fails, since what follows cannot be judged (a future date has no expiry).
    Raises ``ValueError`` for a sex other than ``"M"``/``"F"`` or an unknown
    ``rules.min_education``.
    """
    if facts.sex not in (Sex.MALE, Sex.FEMALE):
        raise ValueError(f"sex must be 'M' or 'F', not {facts.sex!r}")
    if rules.min_education not in EducationLevel.values:
        raise ValueError(f"unknown minimum education {rules.min_education!r}")
    checks = [_check_min_age(facts, rules, today)]
    if facts.sex == Sex.MALE:
        checks.append(_check_retirement(facts, today))
    else:
        checks.append(_check_female_age(facts, rules, today))
    checks.append(_check_education(facts, rules))
    checks.extend(_check_medical(facts, rules, today))
    checks.append(_check_certificate(facts))
    checks.append(_check_open_application(facts))
    checks.append(_check_materials(facts))
    return checks


def failures(checks: Iterable[Check]) -> list[Check]:
    """The checks that did not pass, in their order."""
    return [check for check in checks if not check.passed]
