"""Rendering the e-certificate PDF: idempotent, versioned, never leaving a half state."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from certportal.pdf import MissingGlyphError

from ..models import (
    Certificate,
    CertificatePdf,
    CertificateStatus,
    ReminderSent,
    ValidityPeriod,
)
from ..numbering import CERTIFICATE_TYPE_CODE, ecert_identifier, number_serial_part
from ..pdf import CertificateData, render_certificate_pdf

logger = logging.getLogger(__name__)

STAMP = {
    CertificateStatus.SUSPENDED: "暂扣",
    CertificateStatus.REVOKED: "已吊销",
    CertificateStatus.WITHDRAWN: "已撤销",
    CertificateStatus.CANCELLED: "已注销",
    CertificateStatus.EXPIRED: "已过期",
}


def printed_valid_from(certificate: Certificate) -> date:
    """The first day the PDF prints. A renewal approved ahead of the expiry records a period
    that starts after it (SPEC 4.6); printed alone, "2027年1月8日 至 2029年1月7日" on a
    certificate rendered in 2026 reads as not valid yet to whoever holds the paper. So while
    the period running today leads straight into the recorded one, the PDF prints the whole
    unbroken validity, from that period's first day."""
    today = timezone.localdate()
    if certificate.valid_from <= today:
        return certificate.valid_from
    running = (
        ValidityPeriod.objects.filter(
            certificate=certificate,
            valid_from__lte=today,
            valid_until=certificate.valid_from - timedelta(days=1),
        )
        .order_by("-valid_from")
        .first()
    )
    return running.valid_from if running else certificate.valid_from


def certificate_data(certificate: Certificate, *, version: int) -> CertificateData:
    authority = certificate.authority
    issuer = authority.credit_code or authority.province.credit_code
    photo = None
    if certificate.holder_photo:
        with certificate.holder_photo.open("rb") as handle:
            photo = handle.read()
    return CertificateData(
        number=certificate.number,
        name=certificate.holder_name,
        sex="男" if certificate.holder_sex == "M" else "女",
        trade_name=certificate.trade.name,
        first_issued_on=certificate.first_issued_on,
        valid_from=printed_valid_from(certificate),
        valid_until=certificate.valid_until,
        authority_name=authority.name,
        issued_on=certificate.issued_on,
        ecert_identifier=ecert_identifier(
            CERTIFICATE_TYPE_CODE, issuer, number_serial_part(certificate.number), version
        ),
        verify_url=certificate.verify_url,
        photo=photo,
        status_label=STAMP.get(certificate.status, ""),
    )


# What a render changes on the certificate row.
RENDERED_FIELDS = (
    "pdf",
    "pdf_sha256",
    "pdf_version",
    "ecert_version",
    "ecert_identifier",
    "render_error",
    "updated_at",
)


def _render_new_version(certificate: Certificate) -> tuple[CertificatePdf, ContentFile]:
    """Render the locked certificate's current content as its next e-certificate version.

    Sets ``certificate``'s ``RENDERED_FIELDS`` (not saved) and returns the version's unsaved
    row and the PDF, still to be stored under the fresh name both hold (``_stored`` records
    the name the storage gives it)."""
    version = certificate.ecert_version + 1
    data = certificate_data(certificate, version=version)
    pdf = render_certificate_pdf(data)
    digest = hashlib.sha256(pdf).hexdigest()
    name = f"certificates/pdf/{digest[:32]}-v{version:03d}.pdf"
    certificate.pdf = name
    certificate.pdf_sha256 = digest
    certificate.pdf_version = certificate.content_version
    certificate.ecert_version = version
    certificate.ecert_identifier = data.ecert_identifier
    certificate.render_error = ""
    certificate.updated_at = timezone.now()
    row = CertificatePdf(
        certificate=certificate,
        version=version,
        file=name,
        sha256=digest,
        ecert_identifier=data.ecert_identifier,
        status=certificate.status,
        valid_until=certificate.valid_until,
    )
    return row, ContentFile(pdf)


def _stored(certificate: Certificate, version: CertificatePdf, name: str) -> None:
    certificate.pdf = version.file = name


def _save_rendered(certificates: Sequence[Certificate]) -> None:
    """Write the ``RENDERED_FIELDS`` of rendered certificates: one UPDATE per row, sent
    together (psycopg pipelines an ``executemany``), which is much cheaper for a group than
    one round trip per row or ``bulk_update``'s CASE expressions."""
    fields = [Certificate._meta.get_field(name) for name in RENDERED_FIELDS]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    # Identifiers come from the model's own metadata; every value is a parameter.
    statement = (
        f"UPDATE {quote(Certificate._meta.db_table)} SET {assignments} "  # noqa: S608
        f"WHERE {quote(Certificate._meta.pk.column)} = %s"
    )
    rows = [
        [field.get_db_prep_save(getattr(c, field.attname), connection) for field in fields] + [c.pk]
        for c in certificates
    ]
    if rows:
        with connection.cursor() as cursor:
            cursor.executemany(statement, rows)


def _is_current(certificate: Certificate) -> bool:
    return bool(certificate.pdf) and certificate.pdf_version >= certificate.content_version


def _locked(certificate_pks: Sequence[int]):
    return (
        Certificate.objects.select_for_update(of=("self",))
        .select_related("authority__parent", "trade")
        .filter(pk__in=certificate_pks)
        .order_by("pk")
    )


def certificate_render(*, certificate_pk: int) -> Certificate | None:
    """Render the current content of a certificate into a new PDF version.

    Idempotent: nothing happens when the stored PDF is already of the current content. The row
    is locked while rendering, so a redelivered task waits and then finds the work done; the
    file is written under a fresh random name and only a committed row points to it, so a
    crash mid-render leaves the previous PDF current. A character no font has is recorded in
    ``render_error`` for staff and re-raised.
    """
    written = None
    try:
        with transaction.atomic():
            certificate = _locked([certificate_pk]).first()
            if certificate is None:
                return None
            if _is_current(certificate):
                return certificate
            version, content = _render_new_version(certificate)
            written = default_storage.save(version.file.name, content)
            _stored(certificate, version, written)
            version.save()
            _save_rendered([certificate])
    except MissingGlyphError as exc:
        # Recorded after the rollback so staff see why on the admin page; never retried.
        Certificate.objects.filter(pk=certificate_pk).update(render_error=exc.explain())
        logger.error("certificate %s cannot be rendered: %s", certificate_pk, exc)
        raise
    except BaseException:
        if written:
            default_storage.delete(written)
        raise
    return certificate


def certificate_render_many(*, certificate_pks: Sequence[int]) -> int:
    """Render the current content of several certificates in one transaction: what
    ``certificate_render`` does for each, with one lock, one insert of the versions, one
    pipelined update and one commit for the group (a batch's renders), and each file written
    and flushed to disk by a thread while the next certificate renders.

    Idempotent per certificate: the rows stay locked until commit, and one whose PDF is
    current is skipped. One with a character no font has gets ``render_error`` recorded (and
    logged) and the others go on; any other failure rolls the group back and deletes the
    files written, so every previous PDF stays current. Returns how many were rendered.
    """
    pending: list[tuple[Certificate, CertificatePdf, Future]] = []
    try:
        with ThreadPoolExecutor(max_workers=1) as writer, transaction.atomic():
            refused = []
            for certificate in _locked(certificate_pks):
                if _is_current(certificate):
                    continue
                try:
                    version, content = _render_new_version(certificate)
                except MissingGlyphError as exc:
                    certificate.render_error = exc.explain()
                    refused.append(certificate)
                    logger.error("certificate %s cannot be rendered: %s", certificate.pk, exc)
                    continue
                saving = writer.submit(default_storage.save, version.file.name, content)
                pending.append((certificate, version, saving))
            for certificate, version, saving in pending:
                _stored(certificate, version, saving.result())
            CertificatePdf.objects.bulk_create(version for _c, version, _s in pending)
            _save_rendered([certificate for certificate, _v, _s in pending])
            for certificate in refused:
                Certificate.objects.filter(pk=certificate.pk).update(
                    render_error=certificate.render_error
                )
    except BaseException:
        # The writer has finished by now (leaving the executor waits for it).
        for _certificate, _version, saving in pending:
            if saving.exception() is None:
                default_storage.delete(saving.result())
        raise
    return len(pending)


def render_pending_ids(limit: int | None = None) -> list[int]:
    """Certificates whose PDF is missing or older than their content."""
    qs = (
        Certificate.objects.filter(pdf_version__lt=F("content_version"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return list(qs[:limit] if limit else qs)


# Reminders before expiry, each sent once per validity period: (days before, sent from).
# A reminder is due from its day until the next one's (the 90-day one until 31 days before),
# so a day the daily task did not run (downtime, a failed beat) is caught up the next day
# rather than skipped for good.
REMINDERS = (90, 30)


def send_expiry_reminders(*, today=None) -> int:
    """Portal notice and e-mail 90 and 30 days before expiry, each once per period; one missed
    on its day is sent on the next run, with the days actually left. Certificates with a
    renewal under way are not reminded (their holder has applied already)."""
    from datetime import timedelta

    from django.db.models import Exists, OuterRef

    from certportal.notifications import notify

    from ..selectors import runs_to_age_limit

    today = today or timezone.localdate()
    sent = 0
    for index, days in enumerate(REMINDERS):
        later = REMINDERS[index + 1] if index + 1 < len(REMINDERS) else -1
        already = ReminderSent.objects.filter(
            certificate=OuterRef("pk"), valid_until=OuterRef("valid_until"), days_before=days
        )
        due = (
            Certificate.objects.filter(
                status=CertificateStatus.VALID,
                renewal_pending=False,
                valid_until__lte=today + timedelta(days=days),
                valid_until__gt=today + timedelta(days=later),
                holder__isnull=False,
            )
            .exclude(Exists(already))
            .select_related(
                "holder",
                "trade",
                "authority__policy",
                "authority__parent__policy",
            )
        )
        for certificate in due:
            with transaction.atomic():
                _reminder, created = ReminderSent.objects.get_or_create(
                    certificate=certificate, valid_until=certificate.valid_until, days_before=days
                )
                if not created:
                    continue
                left = (certificate.valid_until - today).days
                if runs_to_age_limit(certificate):
                    what_next = "证书有效期已截至持证人年龄上限的前一日，到期后不能延续。"
                else:
                    what_next = "请完成继续教育并在到期前申请延续。"
                notify(
                    user=certificate.holder,
                    title=f"证书将于 {left} 天后到期：{certificate.number}"
                    if left
                    else f"证书今天到期：{certificate.number}",
                    body=(
                        f"您的“{certificate.trade.name}”证书有效期至 "
                        f"{certificate.valid_until:%Y年%m月%d日}。{what_next}"
                    ),
                    url="/me/certificates/",
                )
                sent += 1
    return sent
