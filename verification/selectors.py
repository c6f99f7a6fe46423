"""The reads behind public verification, and the public (masked) face of a certificate.

Everything a verification page or the API shows passes through :class:`PublicCertificate`,
which holds masked values only: a template or a JSON encoder handed one cannot leak the full ID
number or name, whatever it does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone

from applicants.validators import normalise_person_name
from certificates.models import Certificate, CertificatePdf, CertificateStatus
from certportal.pii import blind_index

_WHITESPACE = re.compile(r"\s+")
# Certificate numbers: a province abbreviation, a city letter and digits (闽C052026000001).
MAX_NUMBER_LENGTH = 20
MAX_TOKEN_LENGTH = 64


def normalise_lookup_name(value: str) -> str:
    """A typed name as certificates store it: no whitespace, middle-dot look-alikes as "·"."""
    return normalise_person_name(_WHITESPACE.sub("", value or ""))


def normalise_certificate_number(value: str) -> str:
    """Spaces removed and the city letter upper-cased (people type 闽c05…)."""
    return _WHITESPACE.sub("", value or "").upper()


@dataclass(frozen=True)
class PublicCertificate:
    """What the public may see of a certificate: masked holder, status in words, validity."""

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
            "status": {"code": self.status, "label": self.status_label},
            "valid": self.is_valid,
            "status_changed_on": (
                self.status_changed_on.isoformat() if self.status_changed_on else None
            ),
            "renewal_pending": self.renewal_pending,
            "ecert_identifier": self.ecert_identifier or None,
        }


def status_change_date(certificate: Certificate) -> date | None:
    """When the certificate stopped being valid, when known: the day after its validity for
    an expired one (whether or not the nightly sweep has stored it), otherwise the recorded
    time of its last status change."""
    status = certificate.effective_status
    if status == CertificateStatus.VALID:
        return None
    if status == CertificateStatus.EXPIRED:
        return certificate.valid_until + timedelta(days=1)
    changed: datetime | None = certificate.status_changed_at
    return timezone.localdate(changed) if changed else None


def public_certificate(certificate: Certificate) -> PublicCertificate:
    return PublicCertificate(
        number=certificate.number,
        masked_name=certificate.masked_name,
        masked_id_number=certificate.masked_id_number,
        trade_code=certificate.trade.code,
        trade_name=certificate.trade.name,
        authority=certificate.authority.name,
        valid_from=certificate.valid_from,
        valid_until=certificate.valid_until,
        status=certificate.effective_status,
        status_label=certificate.effective_status_label,
        is_valid=certificate.is_valid,
        status_changed_on=status_change_date(certificate),
        renewal_pending=certificate.renewal_pending,
        ecert_identifier=certificate.ecert_identifier,
        has_pdf=bool(certificate.pdf),
        preview_version=(certificate.pdf_sha256 or "")[:12],
    )


# The columns PublicCertificate and the preview read. Loading only these keeps the lookup's
# query short to build and to read (a third of the columns select_related would fetch).
PUBLIC_FIELDS = (
    "number",
    "holder_name",
    "holder_id_number",
    "valid_from",
    "valid_until",
    "status",
    "status_changed_at",
    "renewal_pending",
    "ecert_identifier",
    "ecert_version",
    "pdf",
    "pdf_sha256",
    "trade__code",
    "trade__name",
    "authority__name",
)


def _public_queryset():
    return (
        Certificate.objects.select_related("trade", "authority")
        .only(*PUBLIC_FIELDS)
        .order_by("-valid_until", "-pk")
    )


def certificates_of_person(*, name: str, id_number: str) -> list[Certificate]:
    """Every certificate (any status) issued under this ID number *and* this name.

    ``id_number`` must already be parsed (normalised to 18 characters). One query, filtering
    on both at once, so an unknown ID number and a known one with the wrong name run the same
    statement and come back the same: empty.
    """
    return list(
        _public_queryset().filter(
            holder_id_index=blind_index(id_number), holder_name=normalise_lookup_name(name)
        )
    )


def certificate_by_number(*, number: str, name: str) -> Certificate | None:
    """The certificate with this number *and* this holder name, in one query (see above)."""
    number = normalise_certificate_number(number)
    if len(number) > MAX_NUMBER_LENGTH:
        number = ""  # never matches, but still runs the same query
    return _public_queryset().filter(number=number, holder_name=normalise_lookup_name(name)).first()


def certificate_by_token(token: str) -> Certificate | None:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return _public_queryset().filter(qr_token=token).first()


def pdf_by_sha256(digest: str) -> CertificatePdf | None:
    """The issued PDF version with this SHA-256, if any (any version, current or older)."""
    return (
        CertificatePdf.objects.select_related("certificate__trade", "certificate__authority")
        .filter(sha256=digest)
        .order_by("-version")
        .first()
    )
