import re

import pytest
from django.core.exceptions import ValidationError

from applicants.validators import (
    normalise_person_name,
    validate_credit_code,
    validate_mobile,
    validate_person_name,
)

CHINESE = re.compile(r"[\u4e00-\u9fff]")


def rejection(validator, value) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        validator(value)
    assert CHINESE.search(info.value.messages[0]), info.value.messages
    return info.value


def test_credit_code_valid_is_accepted():
    validate_credit_code("91350100M000100Y43")


@pytest.mark.parametrize("value", ["91350100M000100Y44", "91350100M000100Y4", "", "hello"])
def test_credit_code_invalid_is_rejected(value):
    error = rejection(validate_credit_code, value)
    assert error.code == "invalid_credit_code"


@pytest.mark.parametrize("value", ["13912345678", "15000000000", "19999999999", "16612345678"])
def test_mobile_valid_is_accepted(value):
    validate_mobile(value)


@pytest.mark.parametrize(
    "value",
    [
        "12345678901",  # second digit 2
        "10012345678",
        "1391234567",  # 10 digits
        "139123456789",  # 12 digits
        "139 1234 5678",
        "+8613912345678",
        "13912345678\n",
        "１３９１２３４５６７８",  # full-width digits
        "",
        None,
    ],
)
def test_mobile_invalid_is_rejected_without_echoing_it(value):
    error = rejection(validate_mobile, value)
    assert error.code == "invalid_mobile"
    if value:
        assert value.strip() not in error.messages[0]


@pytest.mark.parametrize(
    "value",
    [
        "王小明",
        "欧阳娜娜",
        "阿依古丽·买买提",
        "爱新觉罗·溥仪",
        "刘䶮",  # U+4DAE, extension A
        "𠮷野家",  # U+20BB7, extension B
        "王𰻝",  # U+30EDD, extension G
        "金豈",  # U+F900, compatibility ideograph
        "李丽",  # U+2F800, compatibility ideograph supplement
        "王明" * 15,  # 30 characters
    ],
)
def test_person_name_valid_is_accepted(value):
    validate_person_name(value)


def test_person_name_keeps_rare_and_compatibility_ideographs_unchanged():
    for name in ("刘䶮", "𠮷野家", "金豈", "李丽"):
        assert normalise_person_name(name) == name


@pytest.mark.parametrize("dot", ["•", "．", "・", "‧", "﹒", "\u00b7", "･"])
def test_person_name_dot_variants_are_normalised(dot):
    value = f" 阿依古丽{dot}买买提\u3000"
    assert normalise_person_name(value) == "阿依古丽\u00b7买买提"
    validate_person_name(value)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "required"),
        ("  ", "required"),
        ("Wang", "latin"),
        ("王Ming", "latin"),
        ("王ｍｉｎｇ", "latin"),  # full-width Latin
        ("王 明", "spaces"),
        ("王\u3000明", "spaces"),
        ("王<script>", "markup"),
        ("王&amp;明", "markup"),
        ("王\u202e明", "invisible"),  # right-to-left override
        ("王\u200f明", "invisible"),  # right-to-left mark
        ("王\u200b明", "invisible"),  # zero-width space
        ("王\x00明", "control"),
        ("王\x07明", "control"),
        ("王明1", "digits"),
        ("王明１", "digits"),
        ("王明！", "punctuation"),
        ("王-明", "punctuation"),
        ("王.明", "punctuation"),
        ("王☆明", "punctuation"),
        ("キム明", "characters"),
        ("김민", "characters"),
        ("王\ue000", "characters"),  # private use area
        ("·王明", "dot_position"),
        ("王明·", "dot_position"),
        ("阿依古丽··买买提", "dot_repeated"),
        ("阿依古丽•·买买提", "dot_repeated"),
        ("王", "too_short"),
        ("王明" * 15 + "王", "too_long"),
    ],
)
def test_person_name_invalid_is_rejected(value, code):
    assert rejection(validate_person_name, value).code == code


def test_person_name_too_long_reports_the_length():
    error = rejection(validate_person_name, "王" * 31)
    assert error.messages == ["姓名最多 30 个字，当前为 31 个字。"]
