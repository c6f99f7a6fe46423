"""Public verification: each lookup reads through the selectors and leaves one LookupRecord.

The pages and the JSON API call these same functions, so they answer the same and are recorded
the same. A lookup that finds nothing and one whose name does not match the ID number (or the
certificate number) run the same query and return the same empty answer: nothing here tells
the two apart, so neither can a caller.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction

from certificates.models import Certificate
from certportal.pii import blind_index

from . import selectors
from .models import LookupKind, LookupOutcome, LookupRecord
from .selectors import PublicCertificate, public_certificate


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


def _address(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address(value or ""))
    except ValueError:
        return None


def lookup_record(
    *,
    address: str | None,
    kind: str,
    outcome: str,
    certificates: Iterable[Certificate] = (),
    id_number: str = "",
) -> LookupRecord:
    """Record one public lookup for the authority. ``id_number`` is stored only as its blind
    index; pass the parsed number (or nothing when the lookup carried none).

    One transaction: the record and its links to the certificates found. On PostgreSQL, when
    it is a transaction of its own, it commits without waiting for the WAL flush
    (``synchronous_commit`` off for this transaction only): every public lookup writes here,
    and waiting for the disk twice per lookup (1.5–2 ms each on the development machine) was
    the longest wait of a lookup. A database crash can lose the last fraction of a second of
    lookup records, never corrupt them; every other write keeps the server's setting, and so
    does a caller's own transaction that records a lookup inside it.
    """
    own_transaction = not connection.in_atomic_block
    with transaction.atomic():
        if own_transaction and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        record = LookupRecord.objects.create(
            client_address=_address(address),
            kind=kind,
            outcome=outcome,
            id_hash=blind_index(id_number) if id_number else "",
        )
        # The record is new, so none of these links exists yet: insert them directly
        # rather than through ``record.certificates.add``, which first reads them back.
        links = LookupRecord.certificates.through
        links.objects.bulk_create(
            links(lookuprecord=record, certificate=certificate) for certificate in certificates
        )
    return record


def _answer(certificates: list[Certificate]) -> LookupAnswer:
    return LookupAnswer(tuple(public_certificate(c) for c in certificates))


def verify_person(*, name: str, id_number: str, address: str | None, kind: str) -> LookupAnswer:
    """Every certificate of the person with this name and (parsed) ID number, any status."""
    found = selectors.certificates_of_person(name=name, id_number=id_number)
    lookup_record(
        address=address,
        kind=kind,
        outcome=LookupOutcome.FOUND if found else LookupOutcome.NOT_FOUND,
        certificates=found,
        id_number=id_number,
    )
    return _answer(found)


def verify_number(*, number: str, name: str, address: str | None, kind: str) -> LookupAnswer:
    """The certificate with this number, if its holder's name is ``name``."""
    certificate = selectors.certificate_by_number(number=number, name=name)
    found = [certificate] if certificate is not None else []
    lookup_record(
        address=address,
        kind=kind,
        outcome=LookupOutcome.FOUND if found else LookupOutcome.NOT_FOUND,
        certificates=found,
    )
    return _answer(found)


def verify_token(*, token: str, address: str | None) -> LookupAnswer:
    """The QR page's certificate. The token is the only key: it is random and unguessable."""
    certificate = selectors.certificate_by_token(token)
    found = [certificate] if certificate is not None else []
    lookup_record(
        address=address,
        kind=LookupKind.QR,
        outcome=LookupOutcome.FOUND if found else LookupOutcome.NOT_FOUND,
        certificates=found,
    )
    return _answer(found)


def verify_upload(*, sha256: str, address: str | None) -> UploadAnswer:
    """Whether a file with this SHA-256 is an e-certificate PDF the portal issued. The file
    itself is neither stored nor needed: only its digest."""
    pdf = selectors.pdf_by_sha256(sha256)
    lookup_record(
        address=address,
        kind=LookupKind.UPLOAD,
        outcome=LookupOutcome.FOUND if pdf else LookupOutcome.NOT_FOUND,
        certificates=[pdf.certificate] if pdf else [],
    )
    if pdf is None:
        return UploadAnswer()
    certificate = pdf.certificate
    return UploadAnswer(
        certificate=public_certificate(certificate),
        version=pdf.version,
        latest_version=certificate.ecert_version,
    )
