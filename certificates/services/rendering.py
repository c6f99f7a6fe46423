"""Rendering the e-certificate PDF: idempotent, versioned, never leaving a half state."""

from __future__ import annotations

import hashlib
import logging

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from certportal.pdf import MissingGlyphError

from ..models import Certificate, CertificatePdf, CertificateStatus, ReminderSent
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
        valid_from=certificate.valid_from,
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
            certificate = (
                Certificate.objects.select_for_update(of=("self",))
                .select_related("authority__parent", "trade")
                .filter(pk=certificate_pk)
                .first()
            )
            if certificate is None:
                return None
            if certificate.pdf and certificate.pdf_version >= certificate.content_version:
                return certificate
            version = certificate.ecert_version + 1
            data = certificate_data(certificate, version=version)
            pdf = render_certificate_pdf(data)
            digest = hashlib.sha256(pdf).hexdigest()
            written = default_storage.save(
                f"certificates/pdf/{digest[:32]}-v{version:03d}.pdf", ContentFile(pdf)
            )
            CertificatePdf.objects.create(
                certificate=certificate,
                version=version,
                file=written,
                sha256=digest,
                ecert_identifier=data.ecert_identifier,
                status=certificate.status,
                valid_until=certificate.valid_until,
            )
            Certificate.objects.filter(pk=certificate.pk).update(
                pdf=written,
                pdf_sha256=digest,
                pdf_version=certificate.content_version,
                ecert_version=version,
                ecert_identifier=data.ecert_identifier,
                render_error="",
                updated_at=timezone.now(),
            )
    except MissingGlyphError as exc:
        # Recorded after the rollback so staff see why on the admin page; never retried.
        Certificate.objects.filter(pk=certificate_pk).update(render_error=str(exc))
        logger.error("certificate %s cannot be rendered: %s", certificate_pk, exc)
        raise
    except BaseException:
        if written:
            default_storage.delete(written)
        raise
    certificate.refresh_from_db()
    return certificate


def render_pending_ids(limit: int | None = None) -> list[int]:
    """Certificates whose PDF is missing or older than their content."""
    qs = (
        Certificate.objects.filter(pdf_version__lt=F("content_version"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return list(qs[:limit] if limit else qs)


def send_expiry_reminders(*, today=None) -> int:
    """Portal notice and e-mail 90 and 30 days before expiry, each once per period."""
    from datetime import timedelta

    from certportal.notifications import notify

    today = today or timezone.localdate()
    sent = 0
    for days in (90, 30):
        due = Certificate.objects.filter(
            status=CertificateStatus.VALID,
            valid_until=today + timedelta(days=days),
            holder__isnull=False,
        ).select_related("holder", "trade")
        for certificate in due:
            with transaction.atomic():
                _reminder, created = ReminderSent.objects.get_or_create(
                    certificate=certificate, valid_until=certificate.valid_until, days_before=days
                )
                if not created:
                    continue
                notify(
                    user=certificate.holder,
                    title=f"证书将于 {days} 天后到期：{certificate.number}",
                    body=(
                        f"您的“{certificate.trade.name}”证书有效期至 "
                        f"{certificate.valid_until:%Y年%m月%d日}。"
                        "请完成继续教育并在到期前申请延续。"
                    ),
                    url="/me/certificates/",
                )
                sent += 1
    return sent
