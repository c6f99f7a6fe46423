"""公民身份号码 (GB 11643): parsing, normalisation and the check character.

Birth date and sex come from the number and are never typed in separately (SPEC section 3).
Address codes are not checked against a table: abolished codes stay valid on real cards.
Messages never repeat the whole number: it is sensitive and error messages end up in logs.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from certportal.pii import mask_id_number

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"
EARLIEST_BIRTH_DATE = date(1900, 1, 1)

# The shape of an ID number (17 digits and a digit or X, or the old 15 digits), whether or not
# its checksum holds: what a login box is taken to mean, and what free text must not carry.
ID_NUMBER_SHAPE = re.compile(r"\d{17}[\dXx]|\d{15}")
_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class IdNumber:
    """A valid ID number and what it tells: ``number`` is the normalised 18 characters."""

    number: str
    birth_date: date
    sex: str

    def __repr__(self) -> str:
        # Reprs end up in logs and tracebacks: show the number masked.
        return (
            f"IdNumber(number={mask_id_number(self.number)!r}, "
            f"birth_date={self.birth_date!r}, sex={self.sex!r})"
        )


def compute_check_character(first17: str) -> str:
    """The 18th character for the first 17 digits: Σ(digit × weight) mod 11, mapped."""
    if len(first17) != 17 or not _DIGITS.fullmatch(first17):
        raise ValueError("compute_check_character needs exactly 17 ASCII digits")
    total = sum(int(digit) * weight for digit, weight in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARACTERS[total % 11]


def fold_id_text(value: str | None) -> str:
    """An ID number as typed, folded for reading: full-width characters to ASCII (NFKC),
    every space removed (also between groups: ``3505 0219 8801 0110 9X``), upper case."""
    return "".join(unicodedata.normalize("NFKC", value or "").split()).upper()


def parse_id_number(value: str, *, today: date | None = None) -> IdNumber:
    """Normalise and check an ID number; a 15-digit legacy number is upgraded to 18.

    Full-width characters are folded (NFKC), whitespace removed (also between groups of
    digits, as numbers are often copied: ``3505 0219 8801 0110 9X``) and a final x
    upper-cased. Raises ``ValidationError`` with one of the codes ``required``, ``length``,
    ``characters``, ``birth_date``, ``birth_date_future``, ``birth_date_too_early`` or
    ``checksum``.
    """
    text = fold_id_text(value)
    if not text:
        raise ValidationError(_("请填写公民身份号码。"), code="required")
    if len(text) not in (15, 18):
        raise ValidationError(
            _("身份证号码应为 18 位（或 15 位旧号码），当前为 %(length)d 位。"),
            params={"length": len(text)},
            code="length",
        )
    _check_characters(text)

    if len(text) == 15:
        first17 = text[:6] + "19" + text[6:]
        check = compute_check_character(first17)
    else:
        first17, check = text[:17], text[17]

    birth_date = _birth_date(first17[6:14], today=today)
    if compute_check_character(first17) != check:
        raise ValidationError(_("身份证号码校验码错误，请核对最后一位。"), code="checksum")
    return IdNumber(
        number=first17 + check,
        birth_date=birth_date,
        sex="M" if int(first17[16]) % 2 else "F",
    )


def _check_characters(text: str) -> None:
    """All digits, except that an 18-character number may end in X."""
    body = text if len(text) == 15 else text[:17]
    for position, character in enumerate(body, start=1):
        if not ("0" <= character <= "9"):
            raise ValidationError(
                _("身份证号码第 %(position)d 位不是数字：只有 18 位号码的最后一位可以是 X。"),
                params={"position": position},
                code="characters",
            )
    if len(text) == 18 and not ("0" <= text[17] <= "9" or text[17] == "X"):
        raise ValidationError(
            _("身份证号码最后一位只能是数字或 X。"),
            code="characters",
        )


def _birth_date(digits: str, *, today: date | None) -> date:
    """The YYYYMMDD part as a date no earlier than 1900 and not in the future."""
    try:
        birth_date = date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError as exc:
        raise ValidationError(
            _(
                "身份证号码中的出生日期 %(year)s 年 %(month)s 月 %(day)s 日不存在，"
                "请核对第 7–14 位。"
            ),
            params={"year": digits[:4], "month": digits[4:6], "day": digits[6:]},
            code="birth_date",
        ) from exc
    if birth_date < EARLIEST_BIRTH_DATE:
        raise ValidationError(
            _("身份证号码中的出生日期 %(date)s 早于 1900 年 1 月 1 日，请核对第 7–14 位。"),
            params={"date": birth_date.isoformat()},
            code="birth_date_too_early",
        )
    if birth_date > (today or timezone.localdate()):
        raise ValidationError(
            _("身份证号码中的出生日期 %(date)s 晚于今天，请核对第 7–14 位。"),
            params={"date": birth_date.isoformat()},
            code="birth_date_future",
        )
    return birth_date
