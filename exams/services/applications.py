"""Exam applications: one service per edge of SPEC 4.2."""

from __future__ import annotations

import hashlib
from datetime import date

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from applicants.models import Material, Profile, material_path
from applicants.uploads import MaterialKind, validate_material
from certportal.audit import audit_record
from certportal.errors import DomainError
from certportal.notifications import clause, notify, official_language
from certportal.pii import plain_reason
from certportal.storage import copy_stored_file, delete_stored_files
from certportal.transitions import transition

from ..eligibility import failures
from ..models import ExamApplication, Institution, SubmittedMaterial, Trade
from ..selectors import (
    eligibility_report,
    holds_certificate_of_trade,
    membership_of,
    policy_for,
    trades_for,
)

S = ExamApplication.Status
EDITABLE = (S.DRAFT, S.RETURNED)
UNDER_REVIEW = (S.SUBMITTED, S.INSTITUTION_APPROVED, S.APPROVED, S.SCHEDULED)


class NotEligible(DomainError):
    """Submission or approval refused: ``checks`` holds every failing eligibility check."""

    def __init__(self, checks):
        self.checks = checks
        super().__init__(
            _("不符合报名条件：") + "；".join(c.message for c in checks), code="not_eligible"
        )


def _require_staff_of(
    actor, *, institution: Institution | None = None, authority=None, refusal: str | None = None
) -> None:
    """Refuse unless ``actor`` is a superuser or staff of that institution / authority scope;
    ``refusal`` says what was refused (an application, unless told otherwise)."""
    if getattr(actor, "is_superuser", False):
        return
    membership = membership_of(actor) if getattr(actor, "is_staff", False) else None
    if membership is not None:
        if institution is not None and membership.institution_id == institution.pk:
            return
        # An institution's staff have no authority, and a province-level authority has no
        # parent: None must never match None.
        if (
            authority is not None
            and membership.authority_id is not None
            and membership.authority_id in (authority.pk, authority.parent_id)
        ):
            return
    raise DomainError(refusal or _("您无权处理这份报名。"), code="forbidden")


def _validate_choice(
    *,
    applicant,
    trade: Trade,
    assessment_institution: Institution,
    training_institution: Institution | None,
) -> None:
    errors: dict[str, list[str]] = {}
    if (
        assessment_institution.kind != Institution.Kind.ASSESSMENT
        or not assessment_institution.is_active
    ):
        errors["assessment_institution"] = [_("请选择考核机构。")]
    authority = assessment_institution.authority
    if not trades_for(authority).filter(pk=trade.pk).exists():
        errors["trade"] = [
            _("%(authority)s 不考核“%(trade)s”。") % {"authority": authority, "trade": trade.name}
        ]
    policy = policy_for(authority)
    if policy.uses_training_institution:
        if training_institution is None:
            errors["training_institution"] = [
                _("%(authority)s 要求选择培训机构。") % {"authority": authority}
            ]
        elif (
            training_institution.kind != Institution.Kind.TRAINING
            or training_institution.authority.province != authority.province
        ):
            errors["training_institution"] = [_("请选择本省的培训机构。")]
    elif training_institution is not None:
        errors["training_institution"] = [
            _("%(authority)s 不经培训机构初审，无需选择培训机构。") % {"authority": authority}
        ]
    if errors:
        raise ValidationError(errors)


def application_create(
    *,
    applicant,
    trade: Trade,
    assessment_institution: Institution,
    training_institution: Institution | None = None,
) -> ExamApplication:
    """A draft application. The applicant needs a real-name profile first; one open
    application per trade (also enforced by the database)."""
    if not Profile.objects.filter(user=applicant).exists():
        raise DomainError(_("请先填写实名信息，再报名考试。"), code="no_profile")
    if holds_certificate_of_trade(applicant, trade):
        # Said now, not only on the draft's checklist: such a draft could never be submitted.
        raise DomainError(
            _(
                "您已持有“%(trade)s”有效或暂扣中的证书（含其他地区发证机关颁发的），"
                "不能重复报考；证书到期前请申请延续。"
            )
            % {"trade": trade.name},
            code="holds_certificate",
        )
    _validate_choice(
        applicant=applicant,
        trade=trade,
        assessment_institution=assessment_institution,
        training_institution=training_institution,
    )
    try:
        with transaction.atomic():
            application = ExamApplication.objects.create(
                applicant=applicant,
                trade=trade,
                authority=assessment_institution.authority,
                assessment_institution=assessment_institution,
                training_institution=training_institution,
            )
            audit_record(
                actor=applicant,
                action="exams.application.created",
                obj=application,
                to_state=S.DRAFT,
            )
    except IntegrityError as exc:
        raise DomainError(
            _("您已有“%(trade)s”的报名正在办理中，不能重复报名。") % {"trade": trade.name},
            code="duplicate",
        ) from exc
    return application


def application_update(
    *,
    application: ExamApplication,
    actor,
    assessment_institution: Institution,
    training_institution: Institution | None = None,
) -> ExamApplication:
    """Change the institutions of a draft or returned application."""
    _require_owner(application, actor)
    _validate_choice(
        applicant=application.applicant,
        trade=application.trade,
        assessment_institution=assessment_institution,
        training_institution=training_institution,
    )
    with transaction.atomic():
        row = ExamApplication.objects.select_for_update().get(pk=application.pk)
        _require_editable(row)
        row.assessment_institution = assessment_institution
        row.authority = assessment_institution.authority
        row.training_institution = training_institution
        row.save()
        audit_record(actor=actor, action="exams.application.updated", obj=row)
    return row


def application_attach_medical(
    *, application: ExamApplication, actor, data: bytes, exam_date: date
) -> ExamApplication:
    """Attach the medical certificate (one file: ECG, blood routine, physical form) with its
    examination date. Checked by content like every material; nothing kept if refused."""
    _require_owner(application, actor)
    today = timezone.localdate()
    if exam_date > today:
        raise ValidationError({"exam_date": [_("体检日期不能晚于今天。")]})
    clean = validate_material(MaterialKind.MEDICAL, data)
    with transaction.atomic():
        row = ExamApplication.objects.select_for_update().get(pk=application.pk)
        _require_editable(row)
        material = Material(
            owner=row.applicant,
            kind=MaterialKind.MEDICAL,
            content_type=clean.content_type,
            size=len(clean.content),
            width=clean.width,
            height=clean.height,
            sha256=hashlib.sha256(clean.content).hexdigest(),
        )
        material.file.save(f"m.{clean.extension}", ContentFile(clean.content), save=False)
        try:
            material.save()
        except BaseException:
            material.file.storage.delete(material.file.name)
            raise
        row.medical_certificate = material
        row.medical_exam_date = exam_date
        row.save()
        audit_record(
            actor=actor,
            action="exams.application.medical_attached",
            obj=row,
            data={"exam_date": exam_date.isoformat(), "sha256": material.sha256},
        )
    return row


def _require_owner(application: ExamApplication, actor) -> None:
    if application.applicant_id != getattr(actor, "pk", None):
        raise DomainError(_("只能修改本人的报名。"), code="forbidden")


def _require_editable(row: ExamApplication) -> None:
    if row.status not in EDITABLE:
        raise DomainError(
            _("报名状态为“%(status)s”，不能修改；只有草稿或退回补正的报名可以修改。")
            % {"status": row.get_status_display()},
            code="wrong_state",
        )


def sync_materials_lock(row: ExamApplication, *, to: str) -> None:
    """Set the applicant's ``materials_locked`` as it must be once ``row`` has moved to
    ``to``: locked while one of their applications is under review (submitted to scheduled),
    whichever of them moves, unless one of them is returned for correction. A returned
    application may need a clearer scan or another proof; the ones under review keep the
    copies they were submitted with (``SubmittedMaterial``, ``submitted_photo``), so the
    replacement does not change them. Call it inside the transaction that moves ``row``.

    The profile row is locked first, so that two applications of one person moving at once
    (one withdrawn while another is submitted) are counted one after the other: the second
    sees the first's outcome, and the lock never ends up open while one is under review.
    An upload takes the same row lock before it checks the flag (applicants.services)."""
    profile = Profile.objects.select_for_update().filter(user_id=row.applicant_id)
    if not profile.values_list("pk", flat=True).first():
        return
    states = {to} | set(
        ExamApplication.objects.filter(
            applicant_id=row.applicant_id, status__in=(*UNDER_REVIEW, S.RETURNED)
        )
        .exclude(pk=row.pk)
        .values_list("status", flat=True)
    )
    locked = not states.isdisjoint(UNDER_REVIEW) and S.RETURNED not in states
    profile.update(materials_locked=locked)


def _keep_submitted_identity(row: ExamApplication, written: list[str]) -> None:
    """Keep the name and copies of the photo, the ID card scan and the education proof this
    submission is reviewed with (``ExamApplication.submitted_photo``, ``SubmittedMaterial``);
    an earlier submission's copies are deleted on commit."""
    row.submitted_name = Profile.objects.values_list("name", flat=True).get(
        user_id=row.applicant_id
    )
    previous = [row.submitted_photo.name] if row.submitted_photo else []
    kept = SubmittedMaterial.objects.filter(application=row)
    for old in kept:
        previous += [name for name in (old.file.name, old.thumbnail.name) if name]
    kept.delete()

    def copy(name: str) -> str:
        copied = copy_stored_file(name, material_path(row, name))
        written.append(copied)
        return copied

    row.submitted_photo = ""
    papers = Material.objects.filter(
        owner_id=row.applicant_id, kind__in=(MaterialKind.PHOTO, *SubmittedMaterial.KINDS)
    )
    for material in papers:
        if material.kind == MaterialKind.PHOTO:
            row.submitted_photo.name = copy(material.file.name)
            continue
        SubmittedMaterial.objects.create(
            application=row,
            kind=material.kind,
            file=copy(material.file.name),
            thumbnail=copy(material.thumbnail.name) if material.thumbnail else "",
            content_type=material.content_type,
            sha256=material.sha256,
        )
    if previous:
        transaction.on_commit(lambda: delete_stored_files(previous))


def application_submit(*, application: ExamApplication, actor) -> ExamApplication:
    """draft | returned → submitted. Every eligibility rule is checked; any failure refuses
    with all failing checks (NotEligible). Locks the ID number, and the materials, name and
    education while under review; keeps the name and photo reviewed for the certificate."""
    _require_owner(application, actor)
    if application.medical_certificate_id is None:
        raise DomainError(_("请先上传体检合格证明并填写体检日期。"), code="no_medical")
    written: list[str] = []

    def check(row):
        # Locked first: no upload or profile change slips in between the check and the copy.
        sync_materials_lock(row, to=S.SUBMITTED)
        failing = failures(eligibility_report(row))
        if failing:
            raise NotEligible(failing)
        row.submitted_at = timezone.now()
        row.status_reason = ""
        Profile.objects.filter(user=row.applicant_id).update(id_number_locked=True)
        _keep_submitted_identity(row, written)

    try:
        row, _changed = transition(
            application,
            allowed_from=EDITABLE,
            to=S.SUBMITTED,
            actor=actor,
            action="exams.application.submitted",
            verb=_("提交"),
            apply=check,
        )
    except BaseException:
        delete_stored_files(written)
        raise
    return row


def application_withdraw(
    *, application: ExamApplication, actor, reason: str = ""
) -> ExamApplication:
    """Any open state before scheduling → withdrawn, by the applicant."""
    _require_owner(application, actor)

    def unlock(row):
        sync_materials_lock(row, to=S.WITHDRAWN)

    row, _changed = transition(
        application,
        allowed_from=(S.DRAFT, S.SUBMITTED, S.INSTITUTION_APPROVED, S.APPROVED, S.RETURNED),
        to=S.WITHDRAWN,
        actor=actor,
        action="exams.application.withdrawn",
        verb=_("撤回"),
        reason=reason,
        apply=unlock,
    )
    return row


def application_institution_approve(*, application: ExamApplication, actor) -> ExamApplication:
    """submitted → institution_approved, by the training institution (first review)."""
    if not policy_for(application.authority).uses_training_institution:
        raise DomainError(_("该发证机关不经培训机构初审，请由发证机关直接审核。"), code="no_stage")
    _require_staff_of(actor, institution=application.training_institution)
    row, _changed = transition(
        application,
        allowed_from=(S.SUBMITTED,),
        to=S.INSTITUTION_APPROVED,
        actor=actor,
        action="exams.application.institution_approved",
        verb=_("初审通过"),
    )
    return row


def application_approve(*, application: ExamApplication, actor) -> ExamApplication:
    """institution_approved (or submitted where the authority uses no training institution)
    → approved, by the authority. Eligibility is checked again on the day of approval."""
    _require_staff_of(actor, authority=application.authority)
    uses_training = policy_for(application.authority).uses_training_institution
    allowed = (S.INSTITUTION_APPROVED,) if uses_training else (S.SUBMITTED,)

    def check(row):
        failing = failures(eligibility_report(row))
        if failing:
            raise NotEligible(failing)
        row.approved_at = timezone.now()

    row, _changed = transition(
        application,
        allowed_from=allowed,
        to=S.APPROVED,
        actor=actor,
        action="exams.application.approved",
        verb=_("审核通过"),
        apply=check,
    )
    return row


def application_review_approve(*, application: ExamApplication, actor) -> ExamApplication:
    """审核通过 by whoever reviews: the reviewer's own step. Institution staff give the first
    review (also when repeated: nothing changes; or too late: refused for the state); the
    authority the final one, and is told when the first review is still awaited; a superuser
    gives whichever is due."""
    membership = membership_of(actor) if getattr(actor, "is_staff", False) else None
    if membership is not None and membership.institution_id is not None:
        return application_institution_approve(application=application, actor=actor)
    uses_training = policy_for(application.authority).uses_training_institution
    if application.status == S.SUBMITTED and uses_training:
        if not getattr(actor, "is_superuser", False):
            raise DomainError(
                _("该报名尚待培训机构初审，初审通过后再由发证机关审核。"),
                code="awaiting_first_review",
            )
        return application_institution_approve(application=application, actor=actor)
    return application_approve(application=application, actor=actor)


def _reviewer_check(application: ExamApplication, actor) -> None:
    """First review belongs to the training institution, later ones to the authority. Once
    the application has left review (returned, rejected, …), either reviewer may ask again:
    repeating their own decision changes nothing, and any other is refused for its state,
    not as "no permission"."""
    in_review_by_authority = application.status in (S.INSTITUTION_APPROVED, S.APPROVED) or (
        application.status == S.SUBMITTED and not application.training_institution_id
    )
    if in_review_by_authority:
        _require_staff_of(actor, authority=application.authority)
    else:
        _require_staff_of(
            actor, institution=application.training_institution, authority=application.authority
        )


def reviews_now(application: ExamApplication, actor) -> bool:
    """Whether ``actor`` takes the review the application waits for now: its training
    institution's staff the first (submitted), the authority's staff (and superusers) the
    second, or the first when no training institution is named. What the review pages offer
    and what they show in full (the ID number) follow it; the services check it again."""
    if application.status == S.SUBMITTED and application.training_institution_id:
        membership = membership_of(actor) if getattr(actor, "is_staff", False) else None
        return bool(membership and membership.institution_id == application.training_institution_id)
    if application.status not in (S.SUBMITTED, S.INSTITUTION_APPROVED):
        return False
    try:
        _require_staff_of(actor, authority=application.authority)
    except DomainError:
        return False
    return True


def _require_reason(reason: str) -> str:
    return plain_reason(reason, missing=_("请填写原因，申报人会看到它。"))


def _decide_against(
    application, actor, reason: str, *, to: str, verb: str, title: str, body: str
) -> ExamApplication:
    """submitted | institution_approved | approved → returned or rejected, with the reason the
    applicant will read; materials are unlocked and the applicant is told."""
    reason = _require_reason(reason)
    _reviewer_check(application, actor)

    def apply(row):
        # Again on the locked row: the caller's copy may be older than a decision just taken
        # (an institution must not return what the authority has meanwhile approved).
        _reviewer_check(row, actor)
        row.status_reason = reason
        row.approved_at = None
        sync_materials_lock(row, to=to)
        with official_language():
            notify(
                user=row.applicant,
                title=title,
                body=body % {"trade": row.trade.name, "reason": clause(reason)},
                url=f"/me/applications/{row.pk}/",
            )

    row, _changed = transition(
        application,
        allowed_from=(S.SUBMITTED, S.INSTITUTION_APPROVED, S.APPROVED),
        to=to,
        actor=actor,
        action=f"exams.application.{to}",
        verb=verb,
        reason=reason,
        apply=apply,
    )
    return row


def application_return(*, application: ExamApplication, actor, reason: str) -> ExamApplication:
    """退回补正 with the reason; the applicant may correct materials and resubmit."""
    return _decide_against(
        application,
        actor,
        reason,
        to=S.RETURNED,
        verb=_("退回补正"),
        title=gettext_lazy("您的考试报名被退回补正"),
        body=gettext_lazy("“%(trade)s”报名被退回，原因：%(reason)s。请修改后重新提交。"),
    )


def application_reject(*, application: ExamApplication, actor, reason: str) -> ExamApplication:
    """不予受理 (final) with the reason."""
    return _decide_against(
        application,
        actor,
        reason,
        to=S.REJECTED,
        verb=_("不予受理"),
        title=gettext_lazy("您的考试报名不予受理"),
        body=gettext_lazy("“%(trade)s”报名不予受理，原因：%(reason)s。"),
    )
