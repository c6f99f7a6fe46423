"""Sensitive personal information: encryption at rest, blind index, masking.

ID numbers are encrypted with MultiFernet (``PII_ENCRYPTION_KEYS``, newest first: a new key
listed first encrypts, the older ones still decrypt, and ``manage.py rotate_pii`` re-encrypts
every row with the newest). Exact lookups and uniqueness use a keyed HMAC-SHA256 of the
normalised value (``PII_INDEX_KEY``), which reveals nothing without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils.translation import gettext_lazy
from stdnum.cn.ric import calc_check_digit

from .errors import DomainError


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.strip().encode()) for key in keys if key.strip()])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "PII_ENCRYPTION_KEYS 必须是逗号分隔的 Fernet 密钥 "
            "(Fernet.generate_key()); one of the keys is malformed"
        ) from exc


def _current_fernet() -> MultiFernet:
    return _fernet(tuple(settings.PII_ENCRYPTION_KEYS))


def check_encryption_keys() -> None:
    """Raise ImproperlyConfigured now if PII_ENCRYPTION_KEYS holds no usable Fernet key."""
    _current_fernet()


def normalise(value: str) -> str:
    """The canonical form that is encrypted and indexed: trimmed, upper-case (18th char X)."""
    return value.strip().upper()


def encrypt(value: str) -> str:
    return _current_fernet().encrypt(value.encode()).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _current_fernet().decrypt(token.encode("ascii")).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "无法解密敏感字段：PII_ENCRYPTION_KEYS 中缺少加密时使用的密钥 "
            "(a value was encrypted with a key no longer listed)"
        ) from exc


def rotate(token: str) -> str:
    """Re-encrypt a token with the newest key (no-op in meaning, new ciphertext)."""
    return _current_fernet().rotate(token.encode("ascii")).decode("ascii")


def blind_index(value: str) -> str:
    """Keyed HMAC of the normalised value, hex: for exact lookups without the plaintext."""
    return hmac.new(
        settings.PII_INDEX_KEY.encode(), normalise(value).encode(), hashlib.sha256
    ).hexdigest()


def mask_id_number(value: str | None) -> str:
    """``350521199001011234`` → ``3505**********1234``: first 4 and last 4 characters kept."""
    if not value:
        return ""
    value = normalise(value)
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_name(value: str | None) -> str:
    """``王小明`` → ``王**``: the first character kept, every other character starred."""
    if not value:
        return ""
    value = value.strip()
    return value[0] + "*" * max(len(value) - 1, 1) if len(value) > 1 else value + "*"


class EncryptedTextField(models.TextField):
    """A text column holding only Fernet ciphertext; Python code sees the plaintext.

    It cannot be filtered on (ciphertext is randomised): pair it with a ``BlindIndexField``.
    """

    description = "Encrypted text (Fernet)"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(normalise(value))

    def get_lookup(self, lookup_name):
        if lookup_name != "isnull":
            raise TypeError(
                f"Encrypted fields cannot be queried with __{lookup_name}; use the blind index."
            )
        return super().get_lookup(lookup_name)


class BlindIndexField(models.CharField):
    """The HMAC of another field of the same model, recomputed on every save."""

    description = "Keyed HMAC blind index of another field"

    def __init__(self, *args, source: str, **kwargs):
        self.source = source
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        if kwargs.get("max_length") == 64:
            del kwargs["max_length"]
        kwargs.pop("editable", None)
        return name, path, args, kwargs

    def pre_save(self, model_instance, add):
        plaintext = getattr(model_instance, self.source)
        value = blind_index(plaintext) if plaintext else None
        setattr(model_instance, self.attname, value)
        return value


# An 18-character ID number in free text, not part of a longer run of digits: in ASCII or
# full-width digits (what a Chinese input method types), next to letters too ("身份证ID350…"),
# and written in groups with single spaces or hyphens between them ("3505 0219 8801 …", as
# numbers are often copied), so that no spelling slips past the guards and the masking.
_DIGIT = "[0-9０-９]"
_GAP = "[ \u3000-]?"
ID_NUMBER_IN_TEXT = re.compile(
    rf"(?<![0-9０-９])(?:{_DIGIT}{_GAP}){{17}}[0-9０-９XxＸｘ](?![0-9０-９])"
)
_GAPS = re.compile(r"[\s-]")


def folded_id_number(candidate: str) -> str:
    """A matched run as 18 ASCII characters: full-width digits and X folded, gaps between
    groups removed, upper case."""
    return _GAPS.sub("", unicodedata.normalize("NFKC", candidate)).upper()


def is_id_number(candidate: str) -> bool:
    """An 18-character run whose check character is right: an ID number, not another code."""
    candidate = folded_id_number(candidate)
    return calc_check_digit(candidate) == candidate[-1]


def mask_id_numbers(text: str) -> str:
    """Every ID number in ``text`` masked; other 18-digit runs (a wrong check character) kept.
    For what staff or a file chose to call something (a reason, a file's name) before it is
    shown, logged or audited."""

    def mask(match: re.Match[str]) -> str:
        number = match.group()
        return mask_id_number(folded_id_number(number)) if is_id_number(number) else number

    return ID_NUMBER_IN_TEXT.sub(mask, text)


def contains_id_number(text: str) -> bool:
    """Whether free text (a reason, a description) holds an ID number."""
    return any(is_id_number(m.group()) for m in ID_NUMBER_IN_TEXT.finditer(text or ""))


# Why a reason holding an ID number is refused (ReasonForm says it on the page as well).
ID_NUMBER_IN_REASON = gettext_lazy("原因中不要填写身份证号码：原因会通知当事人并记入日志。")


def plain_reason(reason: str | None, *, missing: str) -> str:
    """Staff's reason for a decision, stripped; refused empty (``missing`` says why it is
    needed) or holding an ID number (it is sent to the person, shown on pages and audited)."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(missing, code="reason_required")
    if contains_id_number(reason):
        raise DomainError(str(ID_NUMBER_IN_REASON), code="id_number_in_text")
    return reason
