"""Public verification: each lookup reads through the selectors and leaves one LookupRecord.

The pages and the JSON API call these same functions, so they answer the same and are recorded
the same. A lookup that finds nothing and one whose name does not match the ID number (or the
certificate number) run the same query and return the same empty answer: nothing here tells
the two apart, so neither can a caller.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from certportal.pii import blind_index

from . import selectors
from .models import LookupKind, LookupOutcome, LookupRecord
from .selectors import PublicCertificate, run_hot


@dataclass(frozen=True)
class LookupAnswer:
    """What a lookup shows: masked certificates, or nothing."""

    certificates: tuple[PublicCertificate, ...] = ()

    @property
    def found(self) -> bool:
        return bool(self.certificates)

    def as_json(self) -> dict:
        return {"found": self.found, "certificates": [c.as_json() for c in self.certificates]}


@dataclass(frozen=True)
class UploadAnswer:
    """Upload to verify: the issued PDF version a file is byte for byte, if any."""

    certificate: PublicCertificate | None = None
    version: int | None = None
    latest_version: int | None = None

    @property
    def found(self) -> bool:
        return self.certificate is not None

    @property
    def is_current(self) -> bool:
        return self.found and self.version == self.latest_version

    def as_json(self) -> dict:
        """The API's answer: the certificate as a lookup shows it, and which of its PDF
        versions the file is (an older version is genuine but superseded)."""
        if not self.found:
            return {"found": False, "certificates": [], "pdf": None}
        return {
            "found": True,
            "certificates": [self.certificate.as_json()],
            "pdf": {
                "version": self.version,
                "latest_version": self.latest_version,
                "is_current": self.is_current,
            },
        }


@functools.lru_cache(maxsize=4096)
def _address(value: str | None) -> str | None:
    """The address as the record's inet column takes it, or None (remembered: every lookup
    records one)."""
    try:
        return str(ipaddress.ip_address(value or ""))
    except ValueError:
        return None


def lookup_record(
    *,
    address: str | None,
    kind: str,
    outcome: str,
    certificate_ids: Iterable[int] = (),
    id_number: str = "",
) -> None:
    """Record one public lookup for the authority. ``id_number`` is stored only as its blind
    index; pass the parsed number (or nothing when the lookup carried none).

    One transaction: the record and its links to the certificates found. On PostgreSQL it is
    one prepared statement (the record and its links in one round trip), and when it is a
    transaction of its own it commits without waiting for the WAL flush
    (``synchronous_commit`` off for that statement's transaction only): every public lookup
    writes here, and waiting for the disk on each was the longest wait of a lookup. A
    database crash can lose the last fraction of a second of lookup records, never corrupt
    them; every other write keeps the server's setting, and so does a caller's own
    transaction that records a lookup inside it.
    """
    values = [
        timezone.now(),
        _address(address),
        kind,
        outcome,
        blind_index(id_number) if id_number else "",
    ]
    ids = list(certificate_ids)
    if connection.vendor == "postgresql":
        sql = _RECORD_IN_TRANSACTION if connection.in_atomic_block else _RECORD_ASYNC_COMMIT
        run_hot(sql, [*values, ids], rows=False)
        return
    with transaction.atomic():
        record = LookupRecord.objects.create(
            created_at=values[0],
            client_address=values[1],
            kind=kind,
            outcome=outcome,
            id_hash=values[4],
        )
        links = LookupRecord.certificates.through
        links.objects.bulk_create(links(lookuprecord=record, certificate_id=pk) for pk in ids)


_RECORD_COLUMNS = "(created_at, client_address, kind, outcome, id_hash)"
_RECORD_VALUES = "%s::timestamptz, %s::inet, %s, {outcome}, %s"
# set_config(…, true) lasts to the end of the statement's own transaction: the commit that
# follows does not wait for the disk. Reading it in the INSERT's FROM makes the server run it.
_ASYNC_COMMIT = "FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit"


def _record_tables() -> tuple[str, str]:
    return LookupRecord._meta.db_table, LookupRecord.certificates.through._meta.db_table


def _record_sql(*, async_commit: bool) -> str:
    """The record and its links, one statement (PostgreSQL)."""
    record, links = _record_tables()
    values = _RECORD_VALUES.format(outcome="%s")
    return (
        f"WITH record AS (INSERT INTO {record} {_RECORD_COLUMNS} "  # noqa: S608
        f"SELECT {values} {_ASYNC_COMMIT if async_commit else ''} RETURNING id) "
        f"INSERT INTO {links} (lookuprecord_id, certificate_id) "
        "SELECT record.id, found.id FROM record, unnest(%s::bigint[]) AS found(id)"
    )


_RECORD_ASYNC_COMMIT = _record_sql(async_commit=True)
_RECORD_IN_TRANSACTION = _record_sql(async_commit=False)


@functools.cache
def _lookup_sql(where: str, single: bool, async_commit: bool) -> str:
    """The lookup and its record in one statement (PostgreSQL): one round trip and one
    transaction, and the record is written whatever the lookup found, in the same way."""
    record, links = _record_tables()
    found = selectors.public_select(selectors.Lookup(where, (), single=single))
    values = _RECORD_VALUES.format(
        outcome="CASE WHEN EXISTS (SELECT 1 FROM found) THEN %s ELSE %s END"
    )
    return (
        f"WITH found AS ({found}), "  # noqa: S608
        f"record AS (INSERT INTO {record} {_RECORD_COLUMNS} "
        f"SELECT {values} {_ASYNC_COMMIT if async_commit else ''} RETURNING id), "
        f"links AS (INSERT INTO {links} (lookuprecord_id, certificate_id) "
        "SELECT record.id, found.id FROM record, found) "
        "SELECT * FROM found ORDER BY valid_until DESC, id DESC"
    )


def _look_up(lookup: selectors.Lookup, *, kind: str, address: str | None) -> LookupAnswer:
    """Run a public lookup and record it."""
    if connection.vendor != "postgresql":
        found = selectors.public_certificates(lookup)
        lookup_record(
            address=address,
            kind=kind,
            outcome=_outcome(found),
            certificate_ids=[c.certificate_id for c in found],
            id_number=lookup.id_number or "",
        )
        return LookupAnswer(tuple(found))
    sql = _lookup_sql(lookup.where, lookup.single, not connection.in_atomic_block)
    params = [
        *lookup.params,
        timezone.now(),
        _address(address),
        kind,
        LookupOutcome.FOUND,
        LookupOutcome.NOT_FOUND,
        lookup.id_hash,
    ]
    rows = run_hot(sql, params)
    return LookupAnswer(tuple(selectors.public_from_row(row, lookup) for row in rows))


def _outcome(found) -> str:
    return LookupOutcome.FOUND if found else LookupOutcome.NOT_FOUND


def verify_person(*, name: str, id_number: str, address: str | None, kind: str) -> LookupAnswer:
    """Every certificate of the person with this name and (parsed) ID number, any status."""
    lookup = selectors.person_lookup(name=name, id_number=id_number)
    return _look_up(lookup, kind=kind, address=address)


def verify_number(*, number: str, name: str, address: str | None, kind: str) -> LookupAnswer:
    """The certificate with this number, if its holder's name is ``name``."""
    return _look_up(selectors.number_lookup(number=number, name=name), kind=kind, address=address)


def verify_token(*, token: str, address: str | None, kind: str = LookupKind.QR) -> LookupAnswer:
    """The QR page's certificate. The token is the only key: it is random and unguessable."""
    return _look_up(selectors.token_lookup(token), kind=kind, address=address)


def verify_upload(
    *, sha256: str, address: str | None, kind: str = LookupKind.UPLOAD
) -> UploadAnswer:
    """Whether a file with this SHA-256 is an e-certificate PDF the portal issued. The file
    itself is neither stored nor needed: only its digest."""
    pdf = selectors.pdf_by_sha256(sha256)
    lookup_record(
        address=address,
        kind=kind,
        outcome=_outcome(pdf),
        certificate_ids=[pdf.certificate_id] if pdf else [],
    )
    if pdf is None:
        return UploadAnswer()
    (certificate,) = selectors.public_certificates(selectors.certificate_lookup(pdf.certificate_id))
    return UploadAnswer(
        certificate=certificate,
        version=pdf.version,
        latest_version=pdf.certificate.ecert_version,
    )
