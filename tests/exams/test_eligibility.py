"""The eligibility engine (SPEC 4.2): pure functions, no database."""

from dataclasses import replace
from datetime import date

import pytest

from exams.eligibility import (
    Check,
    EligibilityFacts,
    EligibilityRules,
    add_months,
    birthday,
    check_eligibility,
    earliest_valid_medical_date,
    failures,
    format_span,
    retirement_date,
    retirement_extra_months,
    term_end,
)

TODAY = date(2026, 11, 22)

# A 36-year-old man with everything in order: each test breaks one fact at a time.
ELIGIBLE = EligibilityFacts(
    birth_date=date(1990, 6, 15),
    sex="M",
    education="senior",
    medical_exam_date=date(2026, 10, 1),
    holds_same_trade_certificate=False,
    awaiting_same_trade_certificate=False,
    has_other_open_application=False,
    missing_materials=(),
)


def by_code(checks: list[Check]) -> dict[str, Check]:
    return {check.code: check for check in checks}


def failed_codes(facts: EligibilityFacts, *, today: date = TODAY, **rules) -> list[str]:
    checks = check_eligibility(facts, EligibilityRules(**rules), today=today)
    return [check.code for check in failures(checks)]


# --- add_months ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 5, 22), 3, date(2026, 8, 22)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),  # February lacks the 31st: its last day
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # leap year
        (date(2026, 11, 30), 3, date(2027, 2, 28)),  # across the year end
        (date(2026, 5, 31), -3, date(2026, 2, 28)),  # backwards
        (date(2026, 1, 15), -1, date(2025, 12, 15)),
        (date(2026, 1, 15), 0, date(2026, 1, 15)),
    ],
)
def test_add_months_keeps_the_day_or_clamps_to_month_end(start, months, expected):
    assert add_months(start, months) == expected


def test_birthday_of_29_february_is_1_march_in_a_common_year():
    assert birthday(date(2008, 2, 29), 18) == date(2026, 3, 1)
    assert birthday(date(2008, 2, 29), 20) == date(2028, 2, 29)


@pytest.mark.parametrize(
    ("start", "years", "expected"),
    [
        (date(2026, 5, 22), 2, date(2028, 5, 21)),
        (date(2026, 3, 1), 2, date(2028, 2, 29)),  # the term ends on a leap day
        (date(2024, 2, 29), 2, date(2026, 2, 28)),  # from a leap day: through 28 February
        (date(2024, 2, 29), 4, date(2028, 2, 28)),
        (date(2027, 1, 1), 2, date(2028, 12, 31)),
    ],
)
def test_a_term_ends_the_day_before_its_anniversary(start, years, expected):
    assert term_end(start, years) == expected


# --- retirement_date -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "extra", "expected"),
    [
        # Born before 1965: no extra months; 1964 + 60 = 2024.
        (date(1964, 12, 15), 0, date(2024, 12, 15)),
        # Leap day, leap target year: 1964 + 60 = 2024, which has 29 February.
        (date(1964, 2, 29), 0, date(2024, 2, 29)),
        # m = (1965-1965)*12 + 1 = 1 → ceil(1/4) = 1; 2025-01-15 + 1 month = 2025-02-15.
        (date(1965, 1, 15), 1, date(2025, 2, 15)),
        # m = 4 → ceil(4/4) = 1; 2025-04-30 + 1 month = 2025-05-30.
        (date(1965, 4, 30), 1, date(2025, 5, 30)),
        # m = 5 → ceil(5/4) = 2; 2025-05-01 + 2 months = 2025-07-01.
        (date(1965, 5, 1), 2, date(2025, 7, 1)),
        # m = 11 → ceil(11/4) = 3; 2025-11-30 + 3 months = 2026-02-30 → clamped to 2026-02-28.
        (date(1965, 11, 30), 3, date(2026, 2, 28)),
        # m = 12 → 3; 2025-12-31 + 3 months = 2026-03-31 (March has the 31st).
        (date(1965, 12, 31), 3, date(2026, 3, 31)),
        # m = 13 → ceil(13/4) = 4; 2026-01-31 + 4 months = 2026-05-31.
        (date(1966, 1, 31), 4, date(2026, 5, 31)),
        # m = 2*12 + 6 = 30 → ceil(30/4) = 8; 2027-06-30 + 8 months = 2028-02-30 → 2028-02-29.
        (date(1967, 6, 30), 8, date(2028, 2, 29)),
        # m = 11*12 + 8 = 140 → ceil(140/4) = 35; 2036-08-10 + 35 months = 2039-07-10.
        (date(1976, 8, 10), 35, date(2039, 7, 10)),
        # m = 141 → ceil(141/4) = 36 = the cap; 2036-09-10 + 36 months = 2039-09-10.
        (date(1976, 9, 10), 36, date(2039, 9, 10)),
        # m = 15*12 + 1 = 181 → 46, capped at 36: 63 years exactly, 1980 + 63 = 2043.
        (date(1980, 1, 10), 36, date(2043, 1, 10)),
    ],
)
def test_retirement_date_for_men_follows_the_gradual_raise(birth, extra, expected):
    assert retirement_extra_months(birth) == extra
    assert retirement_date(birth, "M") == expected


@pytest.mark.parametrize(
    ("birth", "expected"),
    [
        # 1980 + 55 = 2035; March has the 31st.
        (date(1980, 3, 31), date(2035, 3, 31)),
        # Women born after 1964 get no extra months under the portal's rule.
        (date(1975, 6, 1), date(2030, 6, 1)),
        # 1964 + 55 = 2019, a common year: 29 February becomes the month's last day.
        (date(1964, 2, 29), date(2019, 2, 28)),
    ],
)
def test_retirement_date_for_women_is_55_years(birth, expected):
    assert retirement_date(birth, "F") == expected


@pytest.mark.parametrize("sex", ["", "m", "X", "男"])
def test_retirement_date_rejects_an_unknown_sex(sex):
    with pytest.raises(ValueError, match="sex"):
        retirement_date(date(1980, 1, 1), sex)


# --- the eligible applicant ----------------------------------------------------------------


def test_check_eligibility_passes_every_rule_for_an_eligible_man():
    checks = check_eligibility(ELIGIBLE, today=TODAY)

    assert failures(checks) == []
    assert [check.code for check in checks] == [
        "age_min",
        "retirement",
        "education",
        "medical_missing",
        "medical_future",
        "medical_expired",
        "holds_certificate",
        "open_application",
        "materials",
    ]
    assert all(check.message for check in checks)


def test_check_eligibility_checks_female_age_instead_of_retirement_for_a_woman():
    codes = [c.code for c in check_eligibility(replace(ELIGIBLE, sex="F"), today=TODAY)]

    assert "female_age" in codes
    assert "retirement" not in codes


def test_check_eligibility_rejects_an_unknown_sex():
    with pytest.raises(ValueError, match="sex"):
        check_eligibility(replace(ELIGIBLE, sex="X"), today=TODAY)


def test_check_eligibility_rejects_an_unknown_minimum_education_in_the_rules():
    with pytest.raises(ValueError, match="education"):
        check_eligibility(ELIGIBLE, EligibilityRules(min_education="phd"), today=TODAY)


# --- minimum age ---------------------------------------------------------------------------


def test_age_min_refuses_the_day_before_the_18th_birthday():
    facts = replace(ELIGIBLE, birth_date=date(2008, 11, 23))

    assert failed_codes(facts) == ["age_min"]
    check = by_code(check_eligibility(facts, today=TODAY))["age_min"]
    assert check.message == "申报人须年满 18 周岁：您将于 2026年11月23日 年满 18 周岁。"


def test_age_min_accepts_on_the_18th_birthday():
    assert failed_codes(replace(ELIGIBLE, birth_date=date(2008, 11, 22))) == []


def test_age_min_for_29_february_birth_is_reached_on_1_march():
    facts = replace(ELIGIBLE, birth_date=date(2008, 2, 29), medical_exam_date=date(2026, 2, 1))

    assert failed_codes(facts, today=date(2026, 2, 28)) == ["age_min"]
    check = by_code(check_eligibility(facts, today=date(2026, 2, 28)))["age_min"]
    assert check.message == "申报人须年满 18 周岁：您将于 2026年3月1日 年满 18 周岁。"
    assert failed_codes(facts, today=date(2026, 3, 1)) == []


def test_age_min_follows_the_authority_rule():
    facts = replace(ELIGIBLE, birth_date=date(2006, 1, 1))  # 20 on TODAY

    assert failed_codes(facts, min_age=21) == ["age_min"]
    assert failed_codes(facts, min_age=20) == []


# --- upper age limits ----------------------------------------------------------------------


def test_retirement_accepts_a_man_the_day_before_his_retirement_date():
    # Retires 2026-05-31 (see test_retirement_date_for_men_follows_the_gradual_raise).
    facts = replace(ELIGIBLE, birth_date=date(1966, 1, 31), medical_exam_date=date(2026, 5, 1))

    checks = check_eligibility(facts, today=date(2026, 5, 30))

    assert failures(checks) == []
    assert by_code(checks)["retirement"].note == "距离法定退休年龄还有 1 天（2026年5月31日）。"


def test_retirement_refuses_a_man_on_his_retirement_date():
    facts = replace(ELIGIBLE, birth_date=date(1966, 1, 31), medical_exam_date=date(2026, 5, 1))

    checks = check_eligibility(facts, today=date(2026, 5, 31))

    assert [c.code for c in failures(checks)] == ["retirement"]
    assert by_code(checks)["retirement"].message == (
        "男性申报人须未达到法定退休年龄：您已于 2026年5月31日 达到法定退休年龄（60 周岁 4 个月）。"
    )


def test_retirement_message_for_a_man_of_the_full_raise_names_63_years():
    facts = replace(ELIGIBLE, birth_date=date(1980, 6, 1))

    check = by_code(check_eligibility(facts, today=TODAY))["retirement"]

    assert check.passed and check.message == "未达到法定退休年龄（63 周岁）。"


def test_retirement_message_for_a_man_born_before_1965_names_60_years():
    facts = replace(ELIGIBLE, birth_date=date(1960, 3, 1))

    check = by_code(check_eligibility(facts, today=TODAY))["retirement"]

    assert not check.passed
    assert check.message == (
        "男性申报人须未达到法定退休年龄：您已于 2020年3月1日 达到法定退休年龄（60 周岁）。"
    )


def test_female_age_accepts_a_woman_the_day_before_her_55th_birthday():
    facts = replace(ELIGIBLE, sex="F", birth_date=date(1971, 11, 23))

    checks = check_eligibility(facts, today=TODAY)

    assert failures(checks) == []
    assert by_code(checks)["female_age"].note == "距离 55 周岁还有 1 天（2026年11月23日）。"


def test_female_age_refuses_a_woman_on_her_55th_birthday():
    facts = replace(ELIGIBLE, sex="F", birth_date=date(1971, 11, 22))

    checks = check_eligibility(facts, today=TODAY)

    assert [c.code for c in failures(checks)] == ["female_age"]
    assert by_code(checks)["female_age"].message == (
        "女性申报人须未满 55 周岁：您已于 2026年11月22日 年满 55 周岁。"
    )


def test_female_age_limit_agrees_with_retirement_date_for_a_29_february_birth():
    facts = replace(
        ELIGIBLE, sex="F", birth_date=date(1964, 2, 29), medical_exam_date=date(2019, 2, 1)
    )
    limit = retirement_date(facts.birth_date, "F")  # 2019-02-28

    assert failed_codes(facts, today=date(2019, 2, 27)) == []
    assert failed_codes(facts, today=limit) == ["female_age"]


def test_female_age_follows_the_authority_rule():
    facts = replace(ELIGIBLE, sex="F", birth_date=date(1970, 1, 1))  # 56 on TODAY

    assert failed_codes(facts) == ["female_age"]
    assert failed_codes(facts, female_max_age=60) == []


def test_retirement_note_shows_the_time_left_within_five_years():
    # Born 1969-02-15: m = 4*12 + 2 = 50 → ceil(50/4) = 13 → 61 years 1 month → 2030-03-15.
    facts = replace(ELIGIBLE, birth_date=date(1969, 2, 15))

    check = by_code(check_eligibility(facts, today=date(2026, 11, 22)))["retirement"]

    assert check.passed
    assert check.note == "距离法定退休年龄还有 3 年 3 个月（2030年3月15日）。"


def test_retirement_note_is_empty_when_the_limit_is_far():
    check = by_code(check_eligibility(ELIGIBLE, today=TODAY))["retirement"]

    assert check.passed
    assert check.note == ""


def test_female_age_note_appears_exactly_five_years_before_the_limit():
    facts = replace(ELIGIBLE, sex="F", birth_date=date(1976, 11, 22))  # 55 on 2031-11-22

    on_the_day = by_code(check_eligibility(facts, today=date(2026, 11, 22)))["female_age"]
    day_before = by_code(check_eligibility(facts, today=date(2026, 11, 21)))["female_age"]

    assert on_the_day.note == "距离 55 周岁还有 5 年（2031年11月22日）。"
    assert day_before.note == ""


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (date(2026, 11, 22), date(2029, 2, 22), "2 年 3 个月"),
        (date(2026, 11, 22), date(2029, 2, 21), "2 年 2 个月"),
        (date(2026, 11, 22), date(2027, 11, 22), "1 年"),
        (date(2026, 11, 22), date(2027, 1, 31), "2 个月"),
        (date(2026, 11, 22), date(2026, 12, 10), "18 天"),
    ],
)
def test_format_span_counts_whole_years_and_months(start, end, expected):
    assert format_span(start, end) == expected


# --- education -----------------------------------------------------------------------------


def test_education_refuses_below_junior_middle_school():
    facts = replace(ELIGIBLE, education="primary")

    checks = check_eligibility(facts, today=TODAY)

    assert [c.code for c in failures(checks)] == ["education"]
    assert by_code(checks)["education"].message == (
        "申报人文化程度须为初中及以上：您登记的文化程度为小学及以下。"
    )


def test_education_accepts_exactly_the_minimum():
    assert failed_codes(replace(ELIGIBLE, education="junior")) == []


def test_education_follows_the_authority_rule():
    assert failed_codes(ELIGIBLE, min_education="college") == ["education"]


def test_education_refuses_an_empty_education():
    check = by_code(check_eligibility(replace(ELIGIBLE, education=""), today=TODAY))["education"]

    assert not check.passed
    assert "请在实名信息中填写文化程度" in check.message


# --- medical examination -------------------------------------------------------------------


def test_medical_accepts_an_examination_exactly_3_months_old():
    facts = replace(ELIGIBLE, medical_exam_date=date(2026, 5, 22))

    checks = check_eligibility(facts, today=date(2026, 8, 22))

    assert failures(checks) == []
    assert by_code(checks)["medical_expired"].note == "体检有效期至 2026年8月22日。"


def test_medical_refuses_an_examination_3_months_and_1_day_old():
    facts = replace(ELIGIBLE, medical_exam_date=date(2026, 5, 22))

    checks = check_eligibility(facts, today=date(2026, 8, 23))

    assert [c.code for c in failures(checks)] == ["medical_expired"]
    assert by_code(checks)["medical_expired"].message == (
        "体检日期为 2026年5月22日，已超过 3 个月有效期（须为 2026年5月23日 或之后的体检）。"
    )


def test_medical_validity_clamps_to_month_end():
    # Examined 2026-11-30: 3 months later is 2027-02-30, which February lacks → 2027-02-28.
    facts = replace(ELIGIBLE, medical_exam_date=date(2026, 11, 30))

    assert failed_codes(facts, today=date(2027, 2, 28)) == []
    assert failed_codes(facts, today=date(2027, 3, 1)) == ["medical_expired"]


def test_earliest_valid_medical_date_steps_past_a_clamped_day():
    # 2026-02-28 + 3 months = 2026-05-28, already expired on 2026-05-31; 2026-03-01 holds.
    assert earliest_valid_medical_date(date(2026, 5, 31), 3) == date(2026, 3, 1)
    assert earliest_valid_medical_date(date(2026, 8, 23), 3) == date(2026, 5, 23)


def test_medical_follows_the_authority_rule():
    facts = replace(ELIGIBLE, medical_exam_date=date(2026, 7, 1))

    assert failed_codes(facts, medical_max_age_months=3) == ["medical_expired"]
    assert failed_codes(facts, medical_max_age_months=6) == []


def test_medical_accepts_an_examination_dated_today():
    assert failed_codes(replace(ELIGIBLE, medical_exam_date=TODAY)) == []


def test_medical_refuses_a_future_date():
    facts = replace(ELIGIBLE, medical_exam_date=date(2026, 11, 23))

    checks = check_eligibility(facts, today=TODAY)

    assert [c.code for c in failures(checks)] == ["medical_future"]
    assert "medical_expired" not in by_code(checks)
    assert by_code(checks)["medical_future"].message == (
        "体检日期为 2026年11月23日，晚于今天（2026年11月22日），请核对体检日期。"
    )


def test_medical_refuses_a_missing_date():
    checks = check_eligibility(replace(ELIGIBLE, medical_exam_date=None), today=TODAY)

    assert [c.code for c in failures(checks)] == ["medical_missing"]
    assert "medical_future" not in by_code(checks)
    assert "medical_expired" not in by_code(checks)
    assert by_code(checks)["medical_missing"].message == (
        "未填写体检日期：须提供 3 个月内的体检证明及其日期。"
    )


# --- certificate, open application, materials -----------------------------------------------


def test_holds_certificate_refuses_a_holder_of_the_same_trade():
    checks = check_eligibility(replace(ELIGIBLE, holds_same_trade_certificate=True), today=TODAY)

    assert [c.code for c in failures(checks)] == ["holds_certificate"]
    assert "不能重复报考" in by_code(checks)["holds_certificate"].message


def test_a_passed_exam_awaiting_its_certificate_refuses_a_new_one():
    facts = replace(ELIGIBLE, awaiting_same_trade_certificate=True)

    checks = check_eligibility(facts, today=TODAY)

    assert [c.code for c in failures(checks)] == ["holds_certificate"]
    assert by_code(checks)["holds_certificate"].message == (
        "您本工种已考核合格，证书正待发证机关制发，不能重复报考。"
    )


def test_open_application_refuses_a_second_open_application_for_the_trade():
    checks = check_eligibility(replace(ELIGIBLE, has_other_open_application=True), today=TODAY)

    assert [c.code for c in failures(checks)] == ["open_application"]
    assert by_code(checks)["open_application"].message == (
        "您已有本工种的另一份报名正在办理中，请待其办结或撤回后再报名。"
    )


def test_materials_refuses_missing_materials_and_names_them():
    facts = replace(ELIGIBLE, missing_materials=("电子照片", "学历证明"))

    checks = check_eligibility(facts, today=TODAY)

    assert [c.code for c in failures(checks)] == ["materials"]
    assert by_code(checks)["materials"].message == (
        "实名材料不齐全或未通过校验：电子照片、学历证明。请在“我的材料”中上传后再提交。"
    )


# --- all together --------------------------------------------------------------------------


def test_check_eligibility_reports_every_failing_rule_together():
    facts = EligibilityFacts(
        birth_date=date(1960, 1, 1),
        sex="M",
        education="primary",
        medical_exam_date=date(2026, 1, 1),
        holds_same_trade_certificate=True,
        awaiting_same_trade_certificate=False,
        has_other_open_application=True,
        missing_materials=("身份证扫描件",),
    )

    failed = failures(check_eligibility(facts, today=TODAY))

    assert [c.code for c in failed] == [
        "retirement",
        "education",
        "medical_expired",
        "holds_certificate",
        "open_application",
        "materials",
    ]
    assert len({c.message for c in failed}) == len(failed)


def test_check_eligibility_reports_a_minor_and_a_missing_medical_together():
    facts = replace(ELIGIBLE, birth_date=date(2010, 1, 1), medical_exam_date=None)

    assert failed_codes(facts) == ["age_min", "medical_missing"]


def test_failures_keeps_only_failed_checks_in_order():
    checks = [Check("a", True, "ok"), Check("b", False, "no"), Check("c", False, "no")]

    assert [c.code for c in failures(checks)] == ["b", "c"]
