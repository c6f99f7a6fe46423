"""Issuing certificates: one service behind the applicant's request and the batch (SPEC 4.5)."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import Error as DatabaseFailure
from django.db import transaction
from django.db.models import DateTimeField, ExpressionWrapper, Q
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext as _

from applicants.models import Material, Profile
from certportal.audit import audit_event, audit_record, audit_record_many
from certportal.errors import DomainError
from certportal.models import Notice
from certportal.notifications import notify, notify_many, official_language
from certportal.pii import plain_reason
from certportal.queue import enqueue_on_commit
from certportal.storage import copy_stored_file
from certportal.transitions import transition
from exams.eligibility import term_end, upper_age_limit
from exams.models import ExamApplication, ExamSession
from exams.selectors import authorities_in_scope, membership_of, policy_for

from ..models import (
    BatchIssue,
    Certificate,
    CertificateRequest,
    CertificateStatus,
    ValidityPeriod,
    held_q,
    photo_path,
)
from ..numbering import format_certificate_number, reserve_serials

logger = logging.getLogger(__name__)
# Candidates issued per transaction by a batch: big enough that the per-transaction work is
# shared, small enough that the counter is locked briefly and progress shows often.
BATCH_GROUP = 250
# Certificates per render task enqueued by a batch: one broker message per group instead
# of one per certificate, so a worker process spends its time rendering rather than waiting
# for the next message (~0.5 s of work per message).
RENDER_GROUP = 50


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
    before the holder reaches the upper age limit (the authority's policy for women)."""
    return _valid_until(policy_for(authority), birth_date=birth_date, sex=sex, start=start)


def _valid_until(policy, *, birth_date: date, sex: str, start: date) -> date:
    until = term_end(start, policy.validity_years)
    limit = upper_age_limit(birth_date, sex, female_max_age=policy.female_max_age)
    return min(until, limit - timedelta(days=1))


@dataclass(frozen=True)
class IssueOutcome:
    """What issuing one application gave: its certificate (``already_issued`` when an earlier
    call issued it), or the error that refused it."""

    application_id: int
    certificate: Certificate | None = None
    already_issued: bool = False
    error: DomainError | None = None


def certificate_issue(
    *, application: ExamApplication, actor, issued_on: date | None = None
) -> Certificate:
    """Issue the certificate of a passed application (idempotent: a second call returns the
    certificate already issued). Number from the locked counter; holder data and photo
    copied; validity of the authority's policy capped at retirement; audit; PDF rendered
    after commit. Raises DomainError when the application cannot be issued."""
    (outcome,) = certificate_issue_many(
        application_ids=[application.pk], actor=actor, issued_on=issued_on
    )
    if outcome.error is not None:
        raise outcome.error
    return outcome.certificate


def certificate_issue_many(
    *, application_ids: Sequence[int], actor, issued_on: date | None = None
) -> list[IssueOutcome]:
    """Issue the certificates of several passed applications in one transaction, each on its
    own merits: one outcome per id, in order; a refused application (wrong state, another
    authority, already holding the trade, retired) does not stop the others.

    Every issued certificate gets what ``certificate_issue`` promises, as one row each: a
    number from the locked counter (the group's serials are reserved in one step, the
    counter stays locked until commit), the holder's data and photo copied, a validity
    period, one audit event and a notice; its PDF is rendered after commit. The applications
    are locked while they are issued, so no concurrent issuer issues one twice; an
    application already issued reports its certificate (idempotent).
    """
    issued_on = issued_on or timezone.localdate()
    outcomes: dict[int, IssueOutcome] = {}
    written: list[str] = []
    try:
        with transaction.atomic():
            issuable = _check_issuable(application_ids, actor, issued_on, outcomes)
            certificates = [
                _new_certificate(row, profile, photo, issued_on, valid_until, written)
                for row, profile, photo, valid_until in issuable
            ]
            _number(certificates, issued_on.year)
            Certificate.objects.bulk_create(certificates)
            _record_issued(certificates, actor, issued_on)
            for certificate in certificates:
                outcomes[certificate.application_id] = IssueOutcome(
                    certificate.application_id, certificate=certificate
                )
    except BaseException:
        for name in written:
            default_storage.delete(name)
        raise
    return [outcomes[pk] for pk in application_ids]


def _check_issuable(
    application_ids: Sequence[int], actor, issued_on: date, outcomes: dict[int, IssueOutcome]
) -> list[tuple[ExamApplication, Profile, str | None, date]]:
    """Lock the applications and check each; record the refused and the already issued in
    ``outcomes`` and return the issuable ones with their profile, photo and last valid day."""
    rows = {
        row.pk: row
        for row in ExamApplication.objects.select_for_update(of=("self",))
        .select_related("trade", "authority__parent", "applicant")
        .filter(pk__in=application_ids)
        .order_by("pk")
    }
    applicant_ids = [row.applicant_id for row in rows.values()]
    issued = {
        certificate.application_id: certificate
        for certificate in Certificate.objects.filter(application_id__in=rows)
    }
    profiles = {
        profile.user_id: profile for profile in Profile.objects.filter(user_id__in=applicant_ids)
    }
    refused = set(
        CertificateRequest.objects.filter(
            application_id__in=rows, status=CertificateRequest.Status.REJECTED
        ).values_list("application_id", flat=True)
    )
    held = set(
        Certificate.objects.filter(
            held_q(),
            holder_id_index__in=[profile.id_number_index for profile in profiles.values()],
            trade_id__in={row.trade_id for row in rows.values()},
        ).values_list("holder_id_index", "trade_id")
    )
    photos = dict(
        Material.objects.filter(owner_id__in=applicant_ids, kind="photo").values_list(
            "owner_id", "file"
        )
    )
    in_scope: dict[int, DomainError | None] = {}
    policies: dict[int, object] = {}
    issuable = []
    for pk in application_ids:
        row = rows.get(pk)
        try:
            if row is None:
                raise DomainError(_("考试报名不存在。"), code="not_found")
            if row.authority_id not in in_scope:
                try:
                    require_authority_staff(actor, row.authority)
                    in_scope[row.authority_id] = None
                except DomainError as exc:
                    in_scope[row.authority_id] = exc
            if in_scope[row.authority_id] is not None:
                raise in_scope[row.authority_id]
            if pk in issued:
                outcomes[pk] = IssueOutcome(pk, certificate=issued[pk], already_issued=True)
                continue
            profile = _check_application(row, profiles.get(row.applicant_id))
            if pk in refused:
                # A refusal is final: the person may apply for the trade again (eligibility no
                # longer counts this application as awaiting its certificate).
                raise DomainError(_("该报名的证书申请已决定不予签发，不能发证。"), code="refused")
            if (profile.id_number_index, row.trade_id) in held:
                raise DomainError(
                    _("持证人已持有该工种的有效或暂扣证书，不能重复发证。"), code="duplicate"
                )
            if row.authority_id not in policies:
                policies[row.authority_id] = policy_for(row.authority)
            valid_until = _valid_until(
                policies[row.authority_id],
                birth_date=profile.birth_date,
                sex=profile.sex,
                start=issued_on,
            )
            if valid_until < issued_on:
                raise DomainError(_("持证人已达到法定退休年龄，不能发证。"), code="retired")
        except DomainError as exc:
            outcomes[pk] = IssueOutcome(pk, error=exc)
            continue
        # A second passed application of the same person and trade in this group is a
        # duplicate of the first.
        held.add((profile.id_number_index, row.trade_id))
        # The photo the application was reviewed with; the profile's (the same, as the
        # materials were locked under review) only for applications submitted before a copy
        # was kept.
        photo = row.submitted_photo.name or photos.get(row.applicant_id)
        issuable.append((row, profile, photo, valid_until))
    return issuable


def _check_application(row: ExamApplication, profile: Profile | None) -> Profile:
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
    if profile is None:
        raise DomainError(_("申请人尚未填写实名信息，不能发证。"), code="no_profile")
    return profile


def _new_certificate(
    row: ExamApplication,
    profile: Profile,
    photo: str | None,
    issued_on: date,
    valid_until: date,
    written: list[str],
) -> Certificate:
    """The unsaved, unnumbered certificate of a checked application, its photo copied."""
    certificate = Certificate(
        holder_id=row.applicant_id,
        holder_name=row.submitted_name or profile.name,
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
    if photo:
        certificate.holder_photo.name = copy_stored_file(photo, photo_path(certificate, "p.jpg"))
        written.append(certificate.holder_photo.name)
    return certificate


def _number(certificates: list[Certificate], year: int) -> None:
    """Number the certificates in order from their counters, each counter locked once (in a
    fixed order, so two concurrent batches never wait on each other's counters crosswise)."""
    groups: dict[tuple[str, str], list[Certificate]] = {}
    for certificate in certificates:
        key = (certificate.authority.number_prefix, certificate.trade.code)
        groups.setdefault(key, []).append(certificate)
    for (prefix, trade_code), group in sorted(groups.items()):
        first = reserve_serials(prefix=prefix, trade_code=trade_code, year=year, count=len(group))
        for serial, certificate in enumerate(group, start=first):
            certificate.number = format_certificate_number(
                prefix=prefix, trade_code=trade_code, year=year, serial=serial
            )


def _record_issued(certificates: list[Certificate], actor, issued_on: date) -> None:
    """Validity periods, audit events and notices of newly inserted certificates, one each;
    their renders enqueued after commit."""
    from ..tasks import render_certificate, render_certificates

    if not certificates:
        return
    ValidityPeriod.objects.bulk_create(
        ValidityPeriod(
            certificate=certificate,
            valid_from=issued_on,
            valid_until=certificate.valid_until,
            reason=ValidityPeriod.Reason.ISSUED,
        )
        for certificate in certificates
    )
    audit_record_many(
        audit_event(
            actor=actor,
            action="certificates.certificate.issued",
            obj=certificate,
            to_state=CertificateStatus.VALID,
            data={"application": certificate.application_id, "number": certificate.number},
        )
        for certificate in certificates
    )
    with official_language():
        notify_many(
            Notice(
                user=certificate.application.applicant,
                title=_("证书已签发：%(number)s") % {"number": certificate.number},
                body=_(
                    "您的“%(trade)s”操作资格证书已签发，有效期至 %(until)s，"
                    "可在“我的证书”下载电子证照。"
                )
                % {"trade": certificate.trade.name, "until": certificate.valid_until.isoformat()},
                url="/me/certificates/",
            )
            for certificate in certificates
        )
    _close_requests(certificates, actor)
    pks = [certificate.pk for certificate in certificates]
    if len(pks) == 1:
        enqueue_on_commit(render_certificate, pks[0])
        return
    for start in range(0, len(pks), RENDER_GROUP):
        enqueue_on_commit(render_certificates, pks[start : start + RENDER_GROUP])


def _close_requests(certificates: list[Certificate], actor) -> None:
    """A 新增申请 still open for a certificate issued another way (the batch, or staff issuing
    it directly) is answered by that issuance: 已签发, audited, out of the pending list."""
    requests = list(
        CertificateRequest.objects.select_for_update()
        .filter(
            application_id__in=[c.application_id for c in certificates],
            status=CertificateRequest.Status.SUBMITTED,
        )
        .order_by("pk")
    )
    if not requests:
        return
    now = timezone.now()
    for request in requests:
        request.status, request.decided_at = CertificateRequest.Status.APPROVED, now
    CertificateRequest.objects.bulk_update(requests, ["status", "decided_at"])
    audit_record_many(
        audit_event(
            actor=actor,
            action="certificates.request.approved",
            obj=request,
            from_state=CertificateRequest.Status.SUBMITTED,
            to_state=CertificateRequest.Status.APPROVED,
        )
        for request in requests
    )


# --- 新增申请: the applicant asks, the authority decides ------------------------------------


def certificate_request_submit(*, application: ExamApplication, actor) -> CertificateRequest:
    """The applicant asks for the certificate of a passed application (once)."""
    if application.applicant_id != getattr(actor, "pk", None):
        raise DomainError(_("只能为本人的考核结果申请证书。"), code="forbidden")
    if application.status != ExamApplication.Status.PASSED:
        raise DomainError(_("考核合格后才能申请证书。"), code="wrong_state")
    with transaction.atomic():
        # The application locked first, as issuance locks it: a request made while a batch
        # issues this certificate waits for it and is refused, instead of staying open.
        ExamApplication.objects.select_for_update().filter(pk=application.pk).first()
        if Certificate.objects.filter(application=application).exists():
            raise DomainError(_("该考核结果的证书已经签发。"), code="duplicate")
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
        # Issuing closes the request (``_close_requests``, audited there): the transition
        # below then finds it approved and records nothing twice.
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
    reason = plain_reason(reason, missing=_("请填写不予签发的原因。"))
    require_authority_staff(actor, request.application.authority)

    def apply(row):
        if Certificate.objects.filter(application_id=row.application_id).exists():
            raise DomainError(_("该考核结果的证书已经签发，不能再不予签发。"), code="issued")
        row.reason = reason
        row.decided_at = timezone.now()
        with official_language():
            notify(
                user=row.application.applicant,
                title=_("证书申请不予签发"),
                body=reason,
                url="/me/certificates/",
            )

    with transaction.atomic():
        # The application locked before the request, in issuance's order: a refusal and an
        # issuance of the same certificate run one after the other, and the second sees the
        # first (a certificate issued meanwhile is found in apply).
        ExamApplication.objects.select_for_update().filter(pk=request.application_id).first()
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


def certificate_refused(prefix: str = "") -> Q:
    """An application whose certificate was refused (不予签发): no batch issues one.
    ``prefix`` is the path to the application (``applications__`` from a session)."""
    return Q(**{f"{prefix}certificate_request__status": CertificateRequest.Status.REJECTED})


def _batch_candidates(session: ExamSession):
    """The session's passed candidates, but those whose certificate was refused (不予签发)."""
    return session.applications.filter(status=ExamApplication.Status.PASSED).exclude(
        certificate_refused()
    )


def batch_left_out(session: ExamSession):
    """The session's passed candidates a batch leaves out: their certificate was refused."""
    return session.applications.filter(certificate_refused(), status=ExamApplication.Status.PASSED)


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
            total=_batch_candidates(session).count(),
        )
        audit_record(
            actor=actor,
            action="certificates.batch.started",
            obj=batch,
            data={"session": session.pk},
        )
        enqueue_on_commit(run_batch_issue, batch.pk)
    return batch


# A batch still queued this long after it was started lost its message (a broker outage when
# it was sent): the sweep sends it again. Should the first message turn up after all (a long
# queue backlog), the two copies do not run side by side: the batch's lease lets one at a time.
STALE_BATCH_AFTER = timedelta(minutes=15)


class BatchHeld(Exception):
    """Another run holds the batch's lease: try again once it may have lapsed."""

    def __init__(self, retry_in: float):
        super().__init__(f"batch held for another {retry_in:.0f} s")
        self.retry_in = retry_in


def stale_batch_ids() -> list[int]:
    """Batches whose run the sweep sends again: still queued ``STALE_BATCH_AFTER`` after they
    were started (their message was lost), or running under a lease that has lapsed (their
    worker died, or the database went away under them)."""
    return list(
        BatchIssue.objects.filter(_lost_or_abandoned()).order_by("pk").values_list("pk", flat=True)
    )


# A batch left running by a run from before leases (no lease at all) is abandoned once it is
# older than the run's time limit (``run_batch_issue``'s, 1 h): before that, an old worker may
# still be running it, and would not look at a lease.
UNLEASED_RUN_LIMIT = timedelta(hours=1)


def _lost_or_abandoned() -> Q:
    """By the database's clock, as leases are given and renewed: one clock for every host."""
    now = Now()
    lost = Q(status=BatchIssue.Status.QUEUED, created_at__lt=now - STALE_BATCH_AFTER)
    lapsed = Q(status=BatchIssue.Status.RUNNING, lease_until__lt=now)
    unleased = Q(
        status=BatchIssue.Status.RUNNING,
        lease_until__isnull=True,
        created_at__lt=now - UNLEASED_RUN_LIMIT,
    )
    return lost | lapsed | unleased


def _batch_claim(batch_id: int) -> uuid.UUID | None:
    """Take the batch for this run, from the start: if it is queued, or running under a lease
    that has lapsed. One statement, so of two copies at once exactly one gets it."""
    token = uuid.uuid4()
    claimable = Q(status=BatchIssue.Status.QUEUED) | _lost_or_abandoned()
    claimed = BatchIssue.objects.filter(claimable, pk=batch_id).update(
        status=BatchIssue.Status.RUNNING,
        lease_token=token,
        lease_until=_lease_from_now(),
        done=0,
        results=[],
        error="",
    )
    return token if claimed else None


def _batch_write(batch_id: int, token: uuid.UUID, **fields) -> bool:
    """Write the run's progress and renew its lease; False if the lease is no longer this
    run's (it lapsed and another run took the batch over), and nothing is written."""
    fields.setdefault("lease_until", _lease_from_now())
    return BatchIssue.objects.filter(pk=batch_id, lease_token=token).update(**fields) == 1


def _lease_from_now():
    """The lease's end by the database's clock (hosts' clocks may disagree)."""
    return ExpressionWrapper(Now() + settings.BATCH_ISSUE_LEASE, output_field=DateTimeField())


def batch_issue_run(*, batch_id: int, issued_on: date | None = None) -> BatchIssue:
    """Issue every passed candidate of the batch's session, ``BATCH_GROUP`` at a time (one
    transaction each, through ``certificate_issue_many``), and record per-candidate results
    and progress after each group. Safe to re-run: issued ones are reported as already
    issued. One run at a time: raises ``BatchHeld`` while another run's lease is live, and a
    run whose lease was taken over stops at its next group, writing nothing more."""
    batch = BatchIssue.objects.select_related("session", "actor").get(pk=batch_id)
    if batch.status in (BatchIssue.Status.DONE, BatchIssue.Status.FAILED):
        return batch
    token = _batch_claim(batch.pk)
    if token is None:
        held = (
            BatchIssue.objects.filter(pk=batch.pk)
            .annotate(db_now=Now())
            .values("status", "lease_until", "created_at", "db_now")
            .get()
        )
        if held["status"] == BatchIssue.Status.RUNNING:
            # When to look again, by the database's clock as the lease is (at least a second,
            # at most a lease: a holder that dies is then taken over promptly).
            until = held["lease_until"] or held["created_at"] + UNLEASED_RUN_LIMIT
            wait = (until - held["db_now"]).total_seconds()
            raise BatchHeld(min(max(wait, 0), settings.BATCH_ISSUE_LEASE.total_seconds()) + 1)
        batch.refresh_from_db()
        return batch  # finished (or failed) meanwhile
    try:
        results = _batch_issue_groups(batch, token, issued_on)
    except Exception as error:
        logger.exception("batch issue %s failed", batch.pk)
        # Recorded if the database lets us; if it has gone away, the lease lapses instead and
        # the sweep sends the batch again.
        with contextlib.suppress(DatabaseFailure), transaction.atomic():
            failed = _batch_write(
                batch.pk,
                token,
                status=BatchIssue.Status.FAILED,
                # Staff read this: what to do, and the batch's number by which the operators
                # find the logged traceback, not the exception's class.
                error=_(
                    "签发因系统故障中断（已记录，运维人员可按批次号 %(batch)s 查找）。"
                    "已签发的证书有效；请重新发起批量签发，已签发者不会重复签发。"
                )
                % {"batch": batch.pk},
                finished_at=timezone.now(),
                lease_token=None,
                lease_until=None,
            )
            if failed:
                audit_record(
                    actor=batch.actor,
                    action="certificates.batch.failed",
                    obj=batch,
                    data={"error": type(error).__name__},
                )
        raise
    with transaction.atomic():  # the report and its audit record together, or neither
        finished = results is not None and _batch_write(
            batch.pk,
            token,
            status=BatchIssue.Status.DONE,
            done=len(results),
            total=len(results),
            results=results,
            finished_at=timezone.now(),
            lease_token=None,
            lease_until=None,
        )
        batch.refresh_from_db()
        if finished:
            audit_record(
                actor=batch.actor,
                action="certificates.batch.finished",
                obj=batch,
                data={"issued": sum(1 for r in results if r["ok"]), "total": len(results)},
            )
    if not finished:
        logger.warning("batch issue %s was taken over by another run; this run stops", batch.pk)
    return batch


def _batch_issue_groups(batch: BatchIssue, token: uuid.UUID, issued_on: date | None):
    """The run's work: each group issued and reported; None once the lease is lost."""
    results: list[dict] = []
    candidates = list(
        _batch_candidates(batch.session)
        .order_by("ticket_number")
        .values_list("pk", "ticket_number", "applicant__profile__name")
    )
    for start in range(0, len(candidates), BATCH_GROUP):
        group = candidates[start : start + BATCH_GROUP]
        outcomes = certificate_issue_many(
            application_ids=[pk for pk, _ticket, _name in group],
            actor=batch.actor,
            issued_on=issued_on,
        )
        for (pk, ticket, name), outcome in zip(group, outcomes, strict=True):
            if outcome.error is not None:
                number, message = "", outcome.error.message
            else:
                number = outcome.certificate.number
                message = _("此前已签发") if outcome.already_issued else _("已签发")
            results.append(
                {
                    "application": pk,
                    "ticket": ticket,
                    "name": name or "",
                    "number": number,
                    "message": str(message),
                    "ok": bool(number),
                }
            )
        if not _batch_write(batch.pk, token, done=len(results), results=results):
            return None
    return results
