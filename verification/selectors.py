"""The reads behind public verification, and the public (masked) face of a certificate.

Everything a verification page or the API shows passes through :class:`PublicCertificate`,
which holds masked values only: a template or a JSON encoder handed one cannot leak the full ID
number or name, whatever it does.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.utils import timezone

from applicants.validators import normalise_person_name
from certificates.models import (
    Certificate,
    CertificatePdf,
    CertificateStatus,
    effective_status,
    running_period_end,
)
from certificates.numbering import NUMBER_MAX_LENGTH, normalise_certificate_number
from certportal.pii import blind_index, decrypt, mask_id_number, mask_name
from exams.models import Authority, Trade

_WHITESPACE = re.compile(r"\s+")
# Certificate numbers: a province abbreviation, a city letter and digits (闽C052026000001).
MAX_NUMBER_LENGTH = NUMBER_MAX_LENGTH
MAX_TOKEN_LENGTH = 64


def normalise_lookup_name(value: str) -> str:
    """A typed name as certificates store it: no whitespace, middle-dot look-alikes as "·"."""
    return normalise_person_name(_WHITESPACE.sub("", value or ""))


@dataclass(frozen=True)
class PublicCertificate:
    """What the public may see of a certificate: masked holder, status in words, validity.
    (``certificate_id`` is for the lookup record; no page or answer shows it.)"""

    certificate_id: int
    number: str
    masked_name: str
    masked_id_number: str
    trade_code: str
    trade_name: str
    authority: str
    valid_from: date
    valid_until: date
    status: str
    status_label: str
    is_valid: bool
    status_changed_on: date | None
    renewal_pending: bool
    ecert_identifier: str
    has_pdf: bool
    # Changes whenever the PDF is rendered again (renewed, revoked…): the preview image's URL
    # carries it, so a browser never shows a cached image of the certificate as it was.
    preview_version: str

    @property
    def running_until(self) -> date | None:
        return running_period_end(self.valid_from)

    @property
    def status_class(self) -> str:
        return "valid" if self.is_valid else "invalid"

    @property
    def status_code_name(self) -> str:
        """``valid``, ``suspended``, … for CSS hooks and tests."""
        return CertificateStatus(self.status).name.lower()

    def as_json(self) -> dict:
        return {
            "number": self.number,
            "holder_name": self.masked_name,
            "id_number": self.masked_id_number,
            "trade": {"code": self.trade_code, "name": self.trade_name},
            "authority": self.authority,
            "valid_from": self.valid_from.isoformat(),
            "valid_until": self.valid_until.isoformat(),
            # Renewed ahead of the expiry: valid_from is in the future and the period running
            # today ends here (the pages say so beside the period). Null otherwise.
            "current_period_until": (
                self.running_until.isoformat() if self.is_valid and self.running_until else None
            ),
            "status": {"code": self.status, "label": self.status_label},
            "valid": self.is_valid,
            "status_changed_on": (
                self.status_changed_on.isoformat() if self.status_changed_on else None
            ),
            "renewal_pending": self.renewal_pending,
            "ecert_identifier": self.ecert_identifier or None,
        }


def _status_change_date(status: str, valid_until: date, changed: datetime | None) -> date | None:
    if status == CertificateStatus.VALID:
        return None
    if status == CertificateStatus.EXPIRED:
        return valid_until + timedelta(days=1)
    return timezone.localdate(changed) if changed else None


# The public lookups ---------------------------------------------------------------------
#
# Every public lookup runs one statement, thousands of times a second at peak (SPEC 7). It is
# written out here rather than built by the ORM: building this three-table query cost the ORM
# 1.7 ms of Python per lookup on the development machine, more than all the rest of a lookup
# together. On PostgreSQL it runs on a server-side binding cursor, so psycopg prepares it on
# a connection after its fifth run and the server stops planning it (0.45 ms of the
# database's time per lookup), and it records the lookup in the same statement
# (verification.services). The columns are the ones PublicCertificate shows.

_PUBLIC_COLUMNS = (
    "c.id, c.number, c.holder_name, c.holder_id_number, c.valid_from, c.valid_until, "
    "c.status, c.status_changed_at, c.renewal_pending, c.ecert_identifier, c.pdf, "
    "c.pdf_sha256, t.code AS trade_code, t.name AS trade_name, a.name AS authority_name"
)


@dataclass(frozen=True)
class Lookup:
    """One public lookup: the condition it finds certificates by, and its parameters.

    A lookup that matches nothing runs the very statement one that matches runs, with other
    values: a wrong name and an unknown number cannot be told apart, not even by timing the
    database."""

    where: str
    params: tuple
    single: bool = False
    # The parsed ID number typed (name + ID number lookups): what it finds was indexed under
    # this very number, so it is masked as typed, without decrypting the stored copy.
    id_number: str | None = None

    @property
    def id_hash(self) -> str:
        """The blind index a name + ID number lookup searched by (recorded), else ``""``."""
        return self.params[0] if self.id_number else ""

    @property
    def limit(self) -> str:
        return " LIMIT 1" if self.single else ""


def person_lookup(*, name: str, id_number: str) -> Lookup:
    """Every certificate (any status) issued under this ID number *and* this name.
    ``id_number`` must already be parsed (normalised to 18 characters)."""
    return Lookup(
        "c.holder_id_index = %s AND c.holder_name = %s",
        (blind_index(id_number), normalise_lookup_name(name)),
        id_number=id_number,
    )


def number_lookup(*, number: str, name: str) -> Lookup:
    """The certificate with this number *and* this holder name."""
    number = normalise_certificate_number(number)
    if len(number) > MAX_NUMBER_LENGTH:
        number = ""  # never matches, but still runs the same statement
    return Lookup(
        "c.number = %s AND c.holder_name = %s",
        (number, normalise_lookup_name(name)),
        single=True,
    )


def certificate_lookup(certificate_id: int) -> Lookup:
    """One certificate, by its key (upload to verify, after its PDF was found)."""
    return Lookup("c.id = %s", (certificate_id,), single=True)


def token_lookup(token: str) -> Lookup:
    """The QR page's certificate: the token is its only key."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        token = ""  # never matches (every certificate has a token)
    return Lookup("c.qr_token = %s", (token,), single=True)


def public_select(lookup: Lookup) -> str:
    """The lookup's SELECT: newest validity first."""
    # Table names from the models; values are always parameters.
    return (
        f"SELECT {_PUBLIC_COLUMNS} FROM {Certificate._meta.db_table} c "  # noqa: S608
        f"JOIN {Trade._meta.db_table} t ON t.id = c.trade_id "
        f"JOIN {Authority._meta.db_table} a ON a.id = c.authority_id "
        f"WHERE {lookup.where} ORDER BY c.valid_until DESC, c.id DESC{lookup.limit}"
    )


class _PreparedDebugCursor(CursorDebugWrapper):
    """Logs the statement as written: psycopg keeps no text of a statement it has prepared,
    so Django's own debug cursor would log ``None``."""

    def execute(self, sql, params=None):
        with self.debug_sql(sql, params):
            return CursorWrapper.execute(self, sql, params)


@contextmanager
def hot_cursor():
    """A cursor for the statements every public lookup runs: on PostgreSQL one with
    server-side binding (psycopg prepares a statement it has run DATABASE_PREPARE_THRESHOLD
    times on a connection), wrapped as Django wraps its own, so query logging and
    ``CaptureQueriesContext`` still see it; elsewhere Django's own cursor."""
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            yield cursor
            return
        import psycopg

        server_side = psycopg.Cursor(cursor.cursor.connection)
        wrapped = (
            _PreparedDebugCursor(server_side, connection)
            if connection.queries_logged
            else connection.make_cursor(server_side)
        )
        try:
            yield wrapped
        finally:
            server_side.close()


def run_hot(sql: str, params, *, rows: bool = True) -> list:
    """Run one of the public lookup's statements and return its rows (``rows=False``: a
    statement that returns none).

    On PostgreSQL, with nothing watching the queries, on the connection's own kept cursor
    (``DatabaseWrapper.kept_cursor``) with Django's checks around it: the health check and
    connect of ``connection.cursor()``, the broken-transaction check, and database errors
    raised as Django's. Making two cursors and their wrappers for every lookup cost about
    40 µs of the lookup's CPU. When queries are logged (``DEBUG``, ``CaptureQueriesContext``)
    or an ``execute_wrapper`` is installed, through ``hot_cursor`` as before, so they see it.
    """
    db = connections[DEFAULT_DB_ALIAS]  # this thread's; one lookup instead of one a use
    kept = getattr(db, "kept_cursor", None)
    if kept is None or db.queries_logged or db.execute_wrappers:
        with hot_cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if rows else []
    db.close_if_health_check_failed()
    db.ensure_connection()
    db.validate_no_broken_transaction()
    with db.wrap_database_errors:
        cursor = kept()
        cursor.execute(sql, params)
        return cursor.fetchall() if rows else []


def _aware(value) -> datetime | None:
    """SQLite hands a raw cursor naive UTC datetimes (the ORM's converters add the zone)."""
    if value is None or not isinstance(value, datetime):
        return value
    return value if timezone.is_aware(value) else value.replace(tzinfo=UTC)


def public_from_row(row, lookup: Lookup) -> PublicCertificate:
    """A row of ``public_select`` as the public may see it."""
    (pk, number, name, id_cipher, valid_from, valid_until, status, changed_at,
     renewal_pending, ecert_identifier, pdf, pdf_sha256, trade_code, trade_name,
     authority) = row  # fmt: skip
    status = effective_status(status, valid_until, renewal_pending)
    return PublicCertificate(
        certificate_id=pk,
        number=number,
        masked_name=mask_name(name),
        masked_id_number=mask_id_number(
            lookup.id_number or (decrypt(id_cipher) if id_cipher else "")
        ),
        trade_code=trade_code,
        trade_name=trade_name,
        authority=authority,
        valid_from=valid_from,
        valid_until=valid_until,
        status=status,
        status_label=str(CertificateStatus(status).label),
        is_valid=status == CertificateStatus.VALID,
        status_changed_on=_status_change_date(status, valid_until, _aware(changed_at)),
        renewal_pending=bool(renewal_pending),
        ecert_identifier=ecert_identifier,
        has_pdf=bool(pdf),
        preview_version=(pdf_sha256 or "")[:12],
    )


def public_certificates(lookup: Lookup) -> list[PublicCertificate]:
    """What the lookup finds, newest validity first (the read alone, without recording)."""
    return [public_from_row(row, lookup) for row in run_hot(public_select(lookup), lookup.params)]


def certificate_by_token(token: str) -> Certificate | None:
    """The certificate itself (for its preview image), by QR token."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return Certificate.objects.select_related("trade", "authority").filter(qr_token=token).first()


def pdf_by_sha256(digest: str) -> CertificatePdf | None:
    """The issued PDF version with this SHA-256, if any (any version, current or older)."""
    return (
        CertificatePdf.objects.select_related("certificate")
        .only("version", "certificate__ecert_version")
        .filter(sha256=digest)
        .order_by("-version")
        .first()
    )
