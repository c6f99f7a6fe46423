"""Issuing certificates: one service behind the applicant's request and the batch (SPEC 4.5)."""

from __future__ import annotations

import logging
import uuid
from datetime import date, timedelta

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from applicants.models import Material, Profile
from certportal.audit import audit_record
from certportal.errors import DomainError
from certportal.notifications import notify
from certportal.queue import enqueue_on_commit
from certportal.transitions import transition
from exams.eligibility import add_months, retirement_date
from exams.models import ExamApplication, ExamSession
from exams.selectors import authorities_in_scope, membership_of, policy_for

from ..models import BatchIssue, Certificate, CertificateRequest, CertificateStatus, ValidityPeriod
from ..numbering import format_certificate_number, next_serial

logger = logging.getLogger(__name__)
HELD_STATES = (CertificateStatus.VALID, CertificateStatus.SUSPENDED)


def require_authority_staff(actor, authority) -> None:
    """Refuse unless ``actor`` is a superuser or staff of the issuing authority's scope."""
    if getattr(actor, "is_superuser", False):
        return
    if (
        getattr(actor, "is_staff", False)
        and membership_of(actor) is not None
        and authorities_in_scope(actor).filter(pk=authority.pk).exists()
    ):
        return
    raise DomainError(_("您无权处理该发证机关的证书。"), code="forbidden")


def validity_for(*, authority, birth_date: date, sex: str, start: date) -> date:
    """The last valid day: ``validity_years`` later, the day before; never past the day
    before the holder's statutory retirement date."""
    years = policy_for(authority).validity_years
    until = add_months(start, 12 * years) - timedelta(days=1)
    return min(until, retirement_date(birth_date, sex) - timedelta(days=1))


def holds_valid_certificate(*, id_index: str, trade_id: int, exclude_pk: int | None = None) -> bool:
    qs = Certificate.objects.filter(
        holder_id_index=id_index, trade_id=trade_id, status__in=HELD_STATES
    )
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    return qs.exists()


def certificate_issue(
    *, application: ExamApplication, actor, issued_on: date | None = None
) -> Certificate:
    """Issue the certificate of a passed application (idempotent: a second call returns the
    certificate already issued). Number from the locked counter; holder data and photo
    copied; validity of the authority's policy capped at retirement; audit; PDF rendered
    after commit."""
    from ..tasks import render_certificate

    require_authority_staff(actor, application.authority)
    issued_on = issued_on or timezone.localdate()
    with transaction.atomic():
        row = (
            ExamApplication.objects.select_for_update(of=("self",))
            .select_related("trade", "authority__parent")
            .get(pk=application.pk)
        )
        existing = Certificate.objects.filter(application=row).first()
        if existing is not None:
            return existing
        if row.status != ExamApplication.Status.PASSED:
            raise DomainError(
                _("报名状态为“%(status)s”，只有考核合格的报名可以发证。")
                % {"status": row.get_status_display()},
                code="wrong_state",
            )
        if not row.authority.province.abbreviation:
            raise DomainError(_("发证机关缺少省级简称，无法编号。"), code="config")
        if not (row.authority.credit_code or row.authority.province.credit_code):
            raise DomainError(
                _(
                    "发证机关“%(authority)s”未设置统一社会信用代码，无法生成电子证照标识；请在“发证机关”中补充。"
                )
                % {"authority": row.authority},
                code="config",
            )
        profile = Profile.objects.get(user_id=row.applicant_id)
        if holds_valid_certificate(id_index=profile.id_number_index, trade_id=row.trade_id):
            raise DomainError(
                _("持证人已持有该工种的有效或暂扣证书，不能重复发证。"), code="duplicate"
            )
        valid_until = validity_for(
            authority=row.authority, birth_date=profile.birth_date, sex=profile.sex, start=issued_on
        )
        if valid_until < issued_on:
            raise DomainError(_("持证人已达到法定退休年龄，不能发证。"), code="retired")
        serial = next_serial(
            prefix=row.authority.number_prefix, trade_code=row.trade.code, year=issued_on.year
        )
        certificate = Certificate(
            number=format_certificate_number(
                prefix=row.authority.number_prefix,
                trade_code=row.trade.code,
                year=issued_on.year,
                serial=serial,
            ),
            holder_id=row.applicant_id,
            holder_name=profile.name,
            holder_sex=profile.sex,
            holder_id_number=profile.id_number,
            holder_birth_date=profile.birth_date,
            trade=row.trade,
            authority=row.authority,
            application=row,
            first_issued_on=issued_on,
            issued_on=issued_on,
            valid_from=issued_on,
            valid_until=valid_until,
        )
        photo = Material.objects.filter(owner_id=row.applicant_id, kind="photo").first()
        if photo is not None:
            with photo.file.open("rb") as source:
                certificate.holder_photo.save(
                    f"{uuid.uuid4().hex}.jpg", ContentFile(source.read()), save=False
                )
        certificate.save()
        ValidityPeriod.objects.create(
            certificate=certificate, valid_from=issued_on, valid_until=valid_until, reason="issued"
        )
        audit_record(
            actor=actor,
            action="certificates.certificate.issued",
            obj=certificate,
            to_state=CertificateStatus.VALID,
            data={"application": row.pk, "number": certificate.number},
        )
        notify(
            user=row.applicant,
            title=_("证书已签发：%(number)s") % {"number": certificate.number},
            body=_(
                "您的“%(trade)s”操作资格证书已签发，有效期至 %(until)s，"
                "可在“我的证书”下载电子证照。"
            )
            % {"trade": row.trade.name, "until": valid_until.isoformat()},
            url="/me/certificates/",
        )
        pk = certificate.pk
        enqueue_on_commit(render_certificate, pk)
    return certificate


# --- 新增申请: the applicant asks, the authority decides ------------------------------------


def certificate_request_submit(*, application: ExamApplication, actor) -> CertificateRequest:
    """The applicant asks for the certificate of a passed application (once)."""
    if application.applicant_id != getattr(actor, "pk", None):
        raise DomainError(_("只能为本人的考核结果申请证书。"), code="forbidden")
    if application.status != ExamApplication.Status.PASSED:
        raise DomainError(_("考核合格后才能申请证书。"), code="wrong_state")
    if Certificate.objects.filter(application=application).exists():
        raise DomainError(_("该考核结果的证书已经签发。"), code="duplicate")
    with transaction.atomic():
        request, created = CertificateRequest.objects.get_or_create(application=application)
        if created:
            audit_record(
                actor=actor,
                action="certificates.request.submitted",
                obj=request,
                to_state=CertificateRequest.Status.SUBMITTED,
            )
    return request


def certificate_request_approve(*, request: CertificateRequest, actor) -> Certificate:
    """submitted → approved: issues the certificate through certificate_issue."""
    require_authority_staff(actor, request.application.authority)
    with transaction.atomic():
        certificate = certificate_issue(application=request.application, actor=actor)

        def apply(row):
            row.decided_at = timezone.now()

        transition(
            request,
            allowed_from=(CertificateRequest.Status.SUBMITTED,),
            to=CertificateRequest.Status.APPROVED,
            actor=actor,
            action="certificates.request.approved",
            verb=_("签发"),
            apply=apply,
        )
    return certificate


def certificate_request_reject(
    *, request: CertificateRequest, actor, reason: str
) -> CertificateRequest:
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("请填写不予签发的原因。"), code="reason_required")
    require_authority_staff(actor, request.application.authority)

    def apply(row):
        row.reason = reason
        row.decided_at = timezone.now()
        notify(
            user=row.application.applicant,
            title=_("证书申请不予签发"),
            body=reason,
            url="/me/certificates/",
        )

    row, _changed = transition(
        request,
        allowed_from=(CertificateRequest.Status.SUBMITTED,),
        to=CertificateRequest.Status.REJECTED,
        actor=actor,
        action="certificates.request.rejected",
        verb=_("不予签发"),
        reason=reason,
        apply=apply,
    )
    return row


# --- 批量签发 ----------------------------------------------------------------------------


def batch_issue_start(*, session: ExamSession, actor) -> BatchIssue:
    """Record a batch for the session's passed candidates and start the task after commit."""
    from ..tasks import run_batch_issue

    require_authority_staff(actor, session.authority)
    if session.status != ExamSession.Status.SCORES_PUBLISHED:
        raise DomainError(_("考试计划的成绩发布后才能批量签发。"), code="wrong_state")
    with transaction.atomic():
        batch = BatchIssue.objects.create(
            session=session,
            actor=actor,
            total=session.applications.filter(status=ExamApplication.Status.PASSED).count(),
        )
        audit_record(
            actor=actor,
            action="certificates.batch.started",
            obj=batch,
            data={"session": session.pk},
        )
        enqueue_on_commit(run_batch_issue, batch.pk)
    return batch


def batch_issue_run(*, batch_id: int, issued_on: date | None = None) -> BatchIssue:
    """Issue every passed candidate of the batch's session, each in its own transaction, and
    record per-candidate results and progress. Safe to re-run: issued ones are reported as
    already issued."""
    batch = BatchIssue.objects.select_related("session", "actor").get(pk=batch_id)
    if batch.status == BatchIssue.Status.DONE:
        return batch
    BatchIssue.objects.filter(pk=batch.pk).update(
        status=BatchIssue.Status.RUNNING, done=0, results=[]
    )
    results: list[dict] = []
    applications = (
        batch.session.applications.filter(status=ExamApplication.Status.PASSED)
        .select_related("applicant__profile", "authority", "trade")
        .order_by("ticket_number")
    )
    for index, application in enumerate(applications, start=1):
        name = getattr(getattr(application.applicant, "profile", None), "name", "")
        already = (
            Certificate.objects.filter(application=application)
            .values_list("number", flat=True)
            .first()
        )
        try:
            certificate = certificate_issue(
                application=application, actor=batch.actor, issued_on=issued_on
            )
            number, message = certificate.number, (_("此前已签发") if already else _("已签发"))
        except DomainError as exc:
            number, message = "", exc.message
        results.append(
            {
                "application": application.pk,
                "ticket": application.ticket_number,
                "name": name,
                "number": number,
                "message": str(message),
                "ok": bool(number),
            }
        )
        if index % 25 == 0:
            BatchIssue.objects.filter(pk=batch.pk).update(done=index, results=results)
    BatchIssue.objects.filter(pk=batch.pk).update(
        status=BatchIssue.Status.DONE,
        done=len(results),
        total=len(results),
        results=results,
        finished_at=timezone.now(),
    )
    batch.refresh_from_db()
    audit_record(
        actor=batch.actor,
        action="certificates.batch.finished",
        obj=batch,
        data={"issued": sum(1 for r in results if r["ok"]), "total": len(results)},
    )
    return batch
