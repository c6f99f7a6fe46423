import re
from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from applicants.idcard import IdNumber, compute_check_character, parse_id_number

CHINESE = re.compile(r"[\u4e00-\u9fff]")
TODAY = date(2024, 6, 1)


def with_check(first17: str) -> str:
    return first17 + compute_check_character(first17)


def assert_rejected(value: str, code: str, **kwargs) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        parse_id_number(value, **kwargs)
    error = info.value
    message = " ".join(error.messages)
    assert error.code == code
    assert CHINESE.search(message), message
    if value.strip():
        assert value.strip() not in message
        assert value.strip().upper() not in message
    return error


def test_standard_example_female_parses():
    assert parse_id_number("11010519491231002X") == IdNumber(
        number="11010519491231002X", birth_date=date(1949, 12, 31), sex="F"
    )


def test_standard_example_born_1880_is_rejected_as_too_early():
    # GB 11643's second example is well formed (its check character is right, see below),
    # but SPEC section 3 refuses birth dates before 1900: nobody that old sits an exam.
    assert_rejected("440524188001010014", "birth_date_too_early")


def test_odd_order_code_is_male():
    # The female example with order code 001: the sum drops by 2 × (2 - 1) = 2 to 165;
    # 165 mod 11 = 0 → "1".
    assert parse_id_number("110105194912310011") == IdNumber(
        number="110105194912310011", birth_date=date(1949, 12, 31), sex="M"
    )


def test_check_character_matches_standard_examples():
    assert compute_check_character("11010519491231002") == "X"
    assert compute_check_character("44052418800101001") == "4"


def test_check_character_rejects_wrong_input():
    with pytest.raises(ValueError):
        compute_check_character("1101051949123100")
    with pytest.raises(ValueError):
        compute_check_character("1101051949123100X")


def test_lower_case_x_is_stored_upper_case():
    assert parse_id_number("11010519491231002x").number == "11010519491231002X"


def test_surrounding_whitespace_and_full_width_characters_are_normalised():
    parsed = parse_id_number(" \u3000１１０１０５１９４９１２３１００２ｘ\t")
    assert parsed.number == "11010519491231002X"


def test_spaces_between_groups_are_dropped_and_not_counted():
    for spaced in ("1101 0519 4912 3100 2X", "110105 19491231 002x", "110105\u300019491231002X"):
        assert parse_id_number(spaced).number == "11010519491231002X", spaced
    error = assert_rejected("1101 0519 4912 3100 2", "length")
    assert error.messages == ["身份证号码应为 18 位（或 15 位旧号码），当前为 17 位。"]


def test_fifteen_digit_number_is_upgraded():
    # 110105 49 1231 002 → 110105 1949 1231 002 + check character.
    # Σ digit × weight for 11010519491231002 with weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2:
    # 7+9+0+5+0+20+2+9+24+27+7+18+30+5+0+0+4 = 167; 167 mod 11 = 2 → "X".
    parsed = parse_id_number("110105491231002")
    assert parsed == IdNumber(number="11010519491231002X", birth_date=date(1949, 12, 31), sex="F")


def test_fifteen_digit_number_with_odd_order_code_is_male():
    assert parse_id_number("440524800101001").sex == "M"


def test_wrong_check_character_is_rejected():
    error = assert_rejected("110105194912310021", "checksum")
    assert error.messages == ["身份证号码校验码错误，请核对最后一位。"]


def test_impossible_date_is_rejected_naming_it():
    error = assert_rejected(with_check("11010519490230002"), "birth_date")
    assert "1949 年 02 月 30 日" in error.messages[0]


def test_month_thirteen_is_rejected():
    assert_rejected(with_check("11010519491331002"), "birth_date")


def test_future_birth_date_is_rejected():
    assert_rejected(with_check("11010520240602002"), "birth_date_future", today=TODAY)


def test_birth_date_today_is_accepted():
    assert parse_id_number(with_check("11010520240601002"), today=TODAY).birth_date == TODAY


def test_future_birth_date_is_rejected_against_local_date_by_default():
    tomorrow = timezone.localdate() + timedelta(days=1)
    assert_rejected(with_check(f"110105{tomorrow:%Y%m%d}002"), "birth_date_future")


def test_birth_date_before_1900_is_rejected():
    assert_rejected(with_check("11010518991231002"), "birth_date_too_early")


def test_birth_date_on_first_day_of_1900_is_accepted():
    assert parse_id_number(with_check("11010519000101002")).birth_date == date(1900, 1, 1)


@pytest.mark.parametrize(
    ("value", "length"),
    [("11010519491231002", 17), ("11010519491231002X1", 19), ("1101051949", 10)],
)
def test_wrong_length_is_rejected_with_the_length(value, length):
    error = assert_rejected(value, "length")
    assert error.messages == [f"身份证号码应为 18 位（或 15 位旧号码），当前为 {length} 位。"]


@pytest.mark.parametrize("value", ["", "   ", None])
def test_empty_value_is_required(value):
    with pytest.raises(ValidationError) as info:
        parse_id_number(value)
    assert info.value.code == "required"
    assert CHINESE.search(info.value.messages[0])


@pytest.mark.parametrize(
    "value",
    [
        "1101051949123A002X",  # a letter in the middle
        "X10105194912310021",  # X anywhere but last
        "11010519491231002Y",  # a letter other than X at the end
        "11010519491231002-",
        "11010549123100X",  # 15-digit numbers are all digits
        "٠١٠١٠٥١٩٤٩١٢٣١٠٠٢X",  # Arabic-Indic digits are digits, but not ours
    ],
)
def test_non_digit_characters_are_rejected(value):
    assert_rejected(value, "characters")


def test_non_digit_error_names_the_position():
    error = assert_rejected("1101051949123A002X", "characters")
    assert "第 14 位" in error.messages[0]


def test_repr_masks_the_number():
    parsed = parse_id_number("11010519491231002X")
    assert "11010519491231002X" not in repr(parsed)
    assert "1101**********002X" in repr(parsed)
