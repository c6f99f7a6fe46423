"""Certificate numbers and e-certificate identifiers (SPEC 4.5)."""

from __future__ import annotations

import re
import unicodedata

from django.db import IntegrityError, transaction
from stdnum.iso7064 import mod_37_36

CERTIFICATE_TYPE_CODE = "11100000000013338W032"
ECERT_PREFIX = "1.2.156.3005.2"
_NUMBER = re.compile(r"^(?P<prefix>\w{1,2}[A-Z]?)(?P<trade>\d{2})(?P<year>\d{4})(?P<serial>\d{6})$")


NUMBER_MAX_LENGTH = 20  # Certificate.number
_SPACES = re.compile(r"\s+")


def normalise_certificate_number(value: str) -> str:
    """A number as it is stored and looked up: full-width forms folded (NFKC: 闽Ｃ０５… is
    闽C05…), spaces removed, letters upper-cased (people type 闽c05…)."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", value or "")).upper()


def format_certificate_number(*, prefix: str, trade_code: str, year: int, serial: int) -> str:
    """``闽C`` + ``04`` + ``2026`` + ``000001`` → ``闽C042026000001``."""
    if not 1 <= serial <= 999_999:
        raise ValueError(f"serial {serial} out of range 1..999999")
    if not re.fullmatch(r"\d{2}", trade_code):
        raise ValueError(f"trade code {trade_code!r} must be two digits")
    return f"{prefix}{trade_code}{year:04d}{serial:06d}"


def number_serial_part(number: str) -> str:
    """The ASCII part of a number (city letter, trade, year, serial): ``C042026000001``.

    The e-certificate identifier needs characters of the ISO 7064 alphabet only; the issuer's
    credit code in the identifier already names the province."""
    return "".join(ch for ch in number if ch.isascii() and ch.isalnum()).upper()


def ecert_identifier(type_code: str, issuer_code: str, serial: str, version: int) -> str:
    """``1.2.156.3005.2.{type}.{issuer}.{serial}.{version:03d}.{check}`` where the check
    character is ISO 7064 MOD 37,36 over the parts before it, joined without dots."""
    if not 0 < version < 1000:
        raise ValueError("version must be 1..999")
    parts = [
        *ECERT_PREFIX.split("."),
        type_code.upper(),
        issuer_code.upper(),
        serial.upper(),
        f"{version:03d}",
    ]
    body = "".join(parts)
    if not re.fullmatch(r"[0-9A-Z]+", body):
        raise ValueError("identifier parts must be digits and capital letters")
    return ".".join([*parts, mod_37_36.calc_check_digit(body)])


def next_serial(*, prefix: str, trade_code: str, year: int) -> int:
    """The next serial for (authority prefix, trade, year): ``reserve_serials`` of one."""
    return reserve_serials(prefix=prefix, trade_code=trade_code, year=year, count=1)


def _locked_counter(*, prefix: str, trade_code: str, year: int):
    """The counter row of (prefix, trade, year), locked until the caller's transaction
    commits. The first caller for a new key creates the row; a concurrent creator loses the
    unique race and locks the now-existing row."""
    from .models import SerialCounter

    for _attempt in range(3):
        counter = (
            SerialCounter.objects.select_for_update()
            .filter(prefix=prefix, trade_code=trade_code, year=year)
            .first()
        )
        if counter is not None:
            return counter
        try:
            with transaction.atomic():
                SerialCounter.objects.create(
                    prefix=prefix, trade_code=trade_code, year=year, last=0
                )
        except IntegrityError:
            pass
    raise RuntimeError("could not lock a certificate serial counter")


def reserve_serials(*, prefix: str, trade_code: str, year: int, count: int) -> int:
    """The first of ``count`` consecutive serials for (authority prefix, trade, year), taken
    from a locked counter row in one step (a batch numbers a whole group at once).

    Must be called inside the issuing transaction: the row lock is held until it commits, so
    concurrent issuers queue and no serial repeats (tested under real concurrency on
    PostgreSQL).
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    counter = _locked_counter(prefix=prefix, trade_code=trade_code, year=year)
    first = counter.last + 1
    counter.last += count
    counter.save(update_fields=["last"])
    return first


def serials_used_up_to(*, prefix: str, trade_code: str, year: int, serial: int) -> None:
    """Mark every serial up to ``serial`` of (prefix, trade, year) as used, so that
    ``reserve_serials`` never hands one out (a number made elsewhere: an imported
    certificate). Never lowers the counter; call inside the transaction that stores it."""
    counter = _locked_counter(prefix=prefix, trade_code=trade_code, year=year)
    if counter.last < serial:
        counter.last = serial
        counter.save(update_fields=["last"])
