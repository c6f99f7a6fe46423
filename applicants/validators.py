"""Validators for what people and organisations type in: credit codes, mobiles, real names."""

from __future__ import annotations

import re
import unicodedata

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum.cn import uscc
from stdnum.exceptions import ValidationError as StdnumValidationError

MIDDLE_DOT = "\u00b7"
# Look-alikes people type for the 间隔号 in minority names (阿依古丽·买买提).
MIDDLE_DOT_VARIANTS = (
    "\u2022"  # • bullet
    "\uff0e"  # ． full-width full stop
    "\u30fb"  # ・ katakana middle dot
    "\uff65"  # ･ half-width katakana middle dot
    "\u2027"  # ‧ hyphenation point
    "\ufe52"  # ﹒ small full stop
    "\u0387"  # · Greek ano teleia, canonically the same character as U+00B7
    "\u2219"  # ∙ bullet operator
    "\u22c5"  # ⋅ dot operator
)
NAME_MIN_LENGTH = 2
NAME_MAX_LENGTH = 30

# Every CJK ideograph block: unified, extensions A to I, compatibility and its supplement.
# Rare characters in names (䶮 U+4DAE, 𠮷 U+20BB7) live outside the basic block.
_IDEOGRAPH_RANGES = (
    (0x3400, 0x4DBF),  # extension A
    (0x4E00, 0x9FFF),  # unified ideographs
    (0xF900, 0xFAFF),  # compatibility ideographs
    (0x20000, 0x2A6DF),  # extension B
    (0x2A700, 0x2EBEF),  # extensions C, D, E, F
    (0x2EBF0, 0x2EE5F),  # extension I
    (0x2F800, 0x2FA1F),  # compatibility ideographs supplement
    (0x30000, 0x3134F),  # extension G
    (0x31350, 0x323AF),  # extension H
)
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_MARKUP_CHARACTERS = frozenset("<>&")


def validate_credit_code(value: str) -> None:
    """统一社会信用代码 (GB 32100): 18 characters with a check character."""
    try:
        uscc.validate(value)
    except StdnumValidationError as exc:
        raise ValidationError(
            _("统一社会信用代码“%(value)s”无效：应为 18 位且校验码正确。"),
            params={"value": value},
            code="invalid_credit_code",
        ) from exc


def validate_mobile(value: str) -> None:
    """A mainland mobile number: 11 digits, 1 then 3–9. The number is not echoed back."""
    if not isinstance(value, str) or not _MOBILE.fullmatch(value):
        raise ValidationError(
            _("请输入 11 位中国大陆手机号码（以 1 开头，第二位为 3–9）。"),
            code="invalid_mobile",
        )


def normalise_person_name(value: str) -> str:
    """Strip surrounding whitespace and turn every middle-dot look-alike into U+00B7.

    No Unicode normalisation form is applied: NFC and NFKC would replace compatibility
    ideographs with their unified twins, and a name must keep the character on the ID card.
    """
    text = (value or "").strip()
    return text.translate({ord(variant): MIDDLE_DOT for variant in MIDDLE_DOT_VARIANTS})


def is_cjk_ideograph(character: str) -> bool:
    """Whether the character lies in a CJK ideograph block (any extension, compatibility)."""
    code_point = ord(character)
    return any(low <= code_point <= high for low, high in _IDEOGRAPH_RANGES)


def validate_person_name(value: str) -> None:
    """A real name as on the ID card: 2–30 CJK ideographs, minority names joined by "·".

    Checks the normalised form (``normalise_person_name``), which is what callers store.
    Each kind of rejection has its own code: ``required``, ``control``, ``invisible``,
    ``markup``, ``spaces``, ``digits``, ``latin``, ``punctuation``, ``characters``,
    ``dot_position``, ``dot_repeated``, ``too_short``, ``too_long``.
    """
    name = normalise_person_name(value)
    if not name:
        raise ValidationError(_("请填写姓名。"), code="required")
    categories = [unicodedata.category(character) for character in name]
    if "Cc" in categories:
        raise ValidationError(
            _("姓名中含有控制字符，请删除后重新输入。"),
            code="control",
        )
    if "Cf" in categories:
        raise ValidationError(
            _("姓名中含有看不见的格式字符（如从右到左标记、零宽字符），请删除后重新输入。"),
            code="invisible",
        )
    if _MARKUP_CHARACTERS.intersection(name):
        raise ValidationError(
            _("姓名中不能含有 HTML 标记或 <、>、& 等符号。"),
            code="markup",
        )
    if any(character.isspace() for character in name):
        raise ValidationError(
            _("姓名中不能含有空格，请按身份证上的姓名连续填写。"),
            code="spaces",
        )
    if any(category.startswith("N") for category in categories):
        raise ValidationError(_("姓名中不能含有数字。"), code="digits")
    if any("LATIN" in unicodedata.name(character, "") for character in name):
        raise ValidationError(
            _("姓名只能使用汉字，不能含有英文字母或拼音。"),
            code="latin",
        )
    for character, category in zip(name, categories, strict=True):
        if character == MIDDLE_DOT or is_cjk_ideograph(character):
            continue
        if category[0] in "PS":
            raise ValidationError(
                _("姓名中不能含有标点或符号“%(character)s”；少数民族姓名请用间隔号“·”分隔。"),
                params={"character": character},
                code="punctuation",
            )
        raise ValidationError(
            _("姓名只能由汉字组成，“%(character)s”（U+%(code_point)04X）不是汉字。"),
            params={"character": character, "code_point": ord(character)},
            code="characters",
        )
    if name.startswith(MIDDLE_DOT) or name.endswith(MIDDLE_DOT):
        raise ValidationError(
            _("间隔号“·”不能出现在姓名的开头或结尾。"),
            code="dot_position",
        )
    if MIDDLE_DOT * 2 in name:
        raise ValidationError(_("间隔号“·”不能连续出现。"), code="dot_repeated")
    if len(name) < NAME_MIN_LENGTH:
        raise ValidationError(
            _("姓名至少应有 %(minimum)d 个字。"),
            params={"minimum": NAME_MIN_LENGTH},
            code="too_short",
        )
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError(
            _("姓名最多 %(maximum)d 个字，当前为 %(length)d 个字。"),
            params={"maximum": NAME_MAX_LENGTH, "length": len(name)},
            code="too_long",
        )


def validate_plain_line(value: str) -> None:
    """One line of free text (an address, a work unit) as a person types it: no control
    characters (line breaks and tabs included) and no invisible format characters such as
    the right-to-left override, which would make the text read differently than it is."""
    categories = {unicodedata.category(character) for character in value or ""}
    if "Cc" in categories:
        raise ValidationError(
            _("含有控制字符（如换行、制表符），请删除后重新输入。"), code="control"
        )
    if "Cf" in categories:
        raise ValidationError(
            _("含有看不见的格式字符（如从右到左标记、零宽字符），请删除后重新输入。"),
            code="invisible",
        )


class MinimumLengthValidator(password_validation.MinimumLengthValidator):
    """Django's rule in the portal's words: Django 5.2 reworded the message and its Chinese
    catalogue has not caught up, so a worker's most common password mistake was answered in
    English ("This password is too short…") on a Chinese page."""

    def get_error_message(self):
        return _("密码太短，至少需要 %(min_length)d 位。") % {"min_length": self.min_length}

    def get_help_text(self):
        return _("密码至少 %(min_length)d 位。") % {"min_length": self.min_length}


# Six characters of an ID number in a row are enough to be guessable: the six digits of a
# birth date (720714), its last six (a common default password here), the region code.
ID_NUMBER_RUN = 6


class IdNumberPasswordValidator:
    """No password holding six characters in a row of its owner's ID number: the birth date,
    the last six digits, the region code, each of which anyone who has seen the ID card (an
    employer, a training institution, a copy left at a counter) knows. Django's similarity
    check compares the whole password with the whole number, so "Wang19720714ab" passed it.

    The number is the one the account registers with (its login, while the account is being
    created), or the one its profile or ID-number login holds; an account without one (a
    mobile registration before its profile, staff) is not checked here.
    """

    def validate(self, password, user=None):
        folded = (password or "").upper()
        for number in _id_numbers_of(user):
            if any(
                number[start : start + ID_NUMBER_RUN] in folded
                for start in range(len(number) - ID_NUMBER_RUN + 1)
            ):
                raise ValidationError(
                    _(
                        "密码中不能含有身份证号码中连续 %(run)d 位及以上的字符"
                        "（如出生日期、号码末 6 位），他人容易猜到，请换一个。"
                    ),
                    params={"run": ID_NUMBER_RUN},
                    code="password_contains_id_number",
                )

    def get_help_text(self):
        return _("密码中不能含有身份证号码中连续 %(run)d 位的字符。") % {"run": ID_NUMBER_RUN}


def _id_numbers_of(user) -> list[str]:
    from .backends import looks_like_id_number

    if user is None:
        return []
    login = user.get_username() or ""
    # The account being registered with its number; or the number a saved account holds.
    numbers = [login, user.id_number()] if looks_like_id_number(login) else [user.id_number()]
    return [number.upper() for number in numbers if number]
