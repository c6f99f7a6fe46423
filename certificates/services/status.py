"""Status changes with the national codes: each has a reason, an audit event, a re-render."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from certportal.errors import DomainError
from certportal.notifications import notify, official_language
from certportal.pii import plain_reason
from certportal.queue import enqueue_on_commit
from certportal.transitions import transition

from ..models import HELD_STATES, Certificate, CertificateStatus, effective_status
from .issuance import require_authority_staff

C = CertificateStatus
# Revoked, withdrawn, cancelled: final. Nothing waits on such a certificate any more.
ENDED = (C.REVOKED, C.WITHDRAWN, C.CANCELLED)

# What other apps do when a certificate ends, inside the change's transaction (registered from
# their AppConfig.ready): renewals closes the certificate's open renewal application.
# hook(certificate, new status, actor, reason); the row still holds its old status.
CertificateEndedHook = Callable[[Certificate, str, object, str], None]
_ended_hooks: list[CertificateEndedHook] = []


def register_certificate_ended_hook(hook: CertificateEndedHook) -> None:
    if hook not in _ended_hooks:
        _ended_hooks.append(hook)


def _change(
    certificate: Certificate,
    *,
    actor,
    to: str,
    allowed: tuple,
    verb: str,
    reason: str,
    system: bool = False,
    refuse_when_expired: bool = False,
) -> Certificate:
    """``refuse_when_expired``: refuse a certificate past its date (no renewal pending), judged
    on the locked row, even before the nightly sweep stores it as expired."""
    from ..tasks import render_certificate

    reason = plain_reason(reason, missing=_("请填写原因。"))
    if not system:
        require_authority_staff(actor, certificate.authority)

    def apply(row: Certificate):
        if refuse_when_expired and (
            effective_status(row.status, row.valid_until, row.renewal_pending) == C.EXPIRED
        ):
            raise DomainError(
                _("证书已过有效期，已过期失效，不能%(verb)s。") % {"verb": verb}, code="expired"
            )
        row.status_reason = reason
        row.status_changed_at = timezone.now()
        # An imported certificate whose e-certificate was never made (content version 0) has
        # no PDF to bring up to date: none is made for it by a status change either.
        has_ecert = not row.awaits_ecert
        if has_ecert:
            row.content_version = F("content_version") + 1
        if row.holder_id:
            with official_language():
                notify(
                    user=row.holder,
                    title=_("证书状态变更：%(number)s %(status)s")
                    % {"number": row.number, "status": C(to).label},
                    body=_("原因：%(reason)s") % {"reason": reason},
                    url="/me/certificates/",
                )
        if to in ENDED:
            # A renewal no longer keeps it waiting (the API showed renewal_pending on a
            # revoked certificate); the open application itself is closed by renewals.
            row.renewal_pending = False
            for hook in _ended_hooks:
                hook(row, to, actor, reason)
        if has_ecert:
            enqueue_on_commit(render_certificate, row.pk)

    row, _changed = transition(
        certificate,
        allowed_from=allowed,
        to=to,
        actor=actor,
        action=f"certificates.certificate.{C(to).name.lower()}",
        verb=verb,
        reason=reason,
        apply=apply,
    )
    row.refresh_from_db()
    return row


def certificate_suspend(*, certificate: Certificate, actor, reason: str) -> Certificate:
    """01 valid → 02 suspended (暂扣); refused once the certificate is past its date."""
    return _change(
        certificate,
        actor=actor,
        to=C.SUSPENDED,
        allowed=(C.VALID,),
        verb=_("暂扣"),
        reason=reason,
        refuse_when_expired=True,
    )


def certificate_lift_suspension(*, certificate: Certificate, actor, reason: str) -> Certificate:
    """02 suspended → 01 valid (发还). Refused once the certificate is past its date: the
    suspension ended with it (pages show it expired at once, the nightly sweep stores 06), and
    there is nothing to give back."""
    return _change(
        certificate,
        actor=actor,
        to=C.VALID,
        allowed=(C.SUSPENDED,),
        verb=_("发还"),
        reason=reason,
        refuse_when_expired=True,
    )


def certificate_revoke(*, certificate: Certificate, actor, reason: str) -> Certificate:
    """01 | 02 → 03 revoked (吊销), final."""
    return _change(
        certificate, actor=actor, to=C.REVOKED, allowed=HELD_STATES, verb=_("吊销"), reason=reason
    )


def certificate_withdraw(*, certificate: Certificate, actor, reason: str) -> Certificate:
    """01 | 02 → 04 withdrawn (撤销), final."""
    return _change(
        certificate, actor=actor, to=C.WITHDRAWN, allowed=HELD_STATES, verb=_("撤销"), reason=reason
    )


def certificate_cancel(*, certificate: Certificate, actor, reason: str) -> Certificate:
    """01 | 02 → 05 cancelled (注销), final."""
    return _change(
        certificate, actor=actor, to=C.CANCELLED, allowed=HELD_STATES, verb=_("注销"), reason=reason
    )


def certificate_expire(*, certificate: Certificate) -> Certificate:
    """01 | 02 → 06 expired, by the nightly sweep (no actor). Refused before the end of
    validity or while a renewal submitted in time is being decided. A suspension does not
    outlive the certificate: pages show a suspended certificate past its date as expired,
    and the sweep stores it so."""
    today = timezone.localdate()
    if certificate.valid_until >= today or certificate.renewal_pending:
        raise DomainError(_("证书尚在有效期内或延续审查中，不能标记为过期。"), code="not_due")
    return _change(
        certificate,
        actor=None,
        to=C.EXPIRED,
        allowed=HELD_STATES,
        verb=_("标记过期"),
        reason=_("有效期届满未延续"),
        system=True,
    )


def expire_due(*, today: date | None = None) -> int:
    """Expire every valid or suspended certificate past its date (no renewal pending).
    Returns the count."""
    today = today or timezone.localdate()
    due = Certificate.objects.filter(
        status__in=HELD_STATES, valid_until__lt=today, renewal_pending=False
    )
    count = 0
    for certificate in due.iterator():
        try:
            certificate_expire(certificate=certificate)
            count += 1
        except DomainError:
            continue
    return count
