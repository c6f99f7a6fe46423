"""Exam sessions (考试计划), assignment of candidates, admission tickets, scores, results."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from applicants.idcard import parse_id_number
from applicants.models import Profile
from certportal.audit import audit_record
from certportal.errors import DomainError
from certportal.imports import (
    Column,
    RowError,
    check_unique,
    file_label,
    parse_bool_cn,
    parse_score,
    read_table,
)
from certportal.notifications import notify, official_language
from certportal.pii import blind_index, plain_reason
from certportal.queue import enqueue_on_commit
from certportal.storage import delete_stored_files
from certportal.transitions import transition

from ..models import ExamApplication, ExamSession, Institution, Trade
from ..selectors import membership_of, policy_for, scoring_waits_for, trades_for
from .applications import _require_staff_of, sync_materials_lock

A = ExamApplication.Status
SS = ExamSession.Status


def session_create(
    *,
    actor,
    name: str,
    trade: Trade,
    assessment_institution: Institution,
    theory_at: datetime,
    practical_at: datetime,
    venue: str,
    capacity: int,
) -> ExamSession:
    """A draft session, by staff of the assessment institution or of its authority, or of a
    training institution of the same authority, which then proposes it
    (``training_institution``)."""
    authority = assessment_institution.authority
    proposer = _proposing_training_institution(actor, authority)
    if proposer is None:
        _require_staff_of(
            actor,
            institution=assessment_institution,
            authority=authority,
            refusal=_("您无权为该考核机构制定考试计划。"),
        )
    errors: dict[str, list[str]] = {}
    if assessment_institution.kind != Institution.Kind.ASSESSMENT:
        errors["assessment_institution"] = [_("请选择考核机构。")]
    if not trades_for(authority).filter(pk=trade.pk).exists():
        errors["trade"] = [_("%(authority)s 不考核该工种。") % {"authority": authority}]
    if theory_at <= timezone.now():
        errors["theory_at"] = [_("理论考核时间须晚于现在。")]
    if practical_at < theory_at:
        errors["practical_at"] = [_("实操考核时间不能早于理论考核时间。")]
    if capacity < 1:
        errors["capacity"] = [_("容量至少为 1 人。")]
    if not (venue or "").strip():
        errors["venue"] = [_("请填写考核地点。")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        session = ExamSession.objects.create(
            name=name.strip(),
            trade=trade,
            assessment_institution=assessment_institution,
            authority=authority,
            theory_at=theory_at,
            practical_at=practical_at,
            venue=venue.strip(),
            capacity=capacity,
            created_by=actor,
            training_institution=proposer,
        )
        audit_record(actor=actor, action="exams.session.created", obj=session, to_state=SS.DRAFT)
    return session


def local_minute(moment: datetime) -> str:
    """A moment as staff and candidates read it: local time, to the minute."""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _proposing_training_institution(actor, authority) -> Institution | None:
    """The actor's training institution, when it belongs to ``authority`` (staff of a training
    institution propose exam plans to their own authority only)."""
    membership = membership_of(actor) if getattr(actor, "is_staff", False) else None
    institution = membership.institution if membership and membership.institution_id else None
    if (
        institution is not None
        and institution.kind == Institution.Kind.TRAINING
        and institution.authority_id == authority.pk
    ):
        return institution
    return None


def _require_planner(actor, session: ExamSession) -> None:
    """Drafting and submitting a plan: its assessment institution, its authority, or the
    training institution that proposed it."""
    if session.training_institution_id:
        membership = membership_of(actor) if getattr(actor, "is_staff", False) else None
        if membership and membership.institution_id == session.training_institution_id:
            return
    _require_staff_of(
        actor,
        institution=session.assessment_institution,
        authority=session.authority,
        refusal=_("您无权修改这份考试计划。"),
    )


def _require_ahead(session: ExamSession, refusal: str | None = None) -> None:
    if session.theory_at <= timezone.now():
        raise DomainError(
            refusal or _("理论考核时间已过；请修改考试计划的时间后再报审。"),
            code="exam_time_passed",
        )


def session_submit(*, session: ExamSession, actor) -> ExamSession:
    """draft → submitted (报审), by the institution or the authority; not once its theory
    exam time has passed."""
    _require_planner(actor, session)

    def apply(row: ExamSession):
        _require_ahead(row)  # judged on the locked row: its times as they are now
        row.return_reason = ""

    row, _changed = transition(
        session,
        allowed_from=(SS.DRAFT,),
        to=SS.SUBMITTED,
        actor=actor,
        action="exams.session.submitted",
        verb=_("报审"),
        apply=apply,
    )
    return row


def session_return(*, session: ExamSession, actor, reason: str) -> ExamSession:
    """submitted → draft (退回修改): the authority sends a plan back with why (a wrong venue,
    a theory exam time that passed before it was approved), or its planner withdraws it to
    change it. The reason stays on the plan until it is submitted again; the plan's creator
    is told when someone else returned it."""
    reason = plain_reason(reason, missing=_("请填写退回原因。"))
    _require_planner(actor, session)

    def apply(row: ExamSession):
        row.return_reason = reason
        if row.created_by_id and row.created_by_id != actor.pk:
            with official_language():
                notify(
                    user=row.created_by,
                    title=_("考试计划被退回修改：%(name)s") % {"name": row.name},
                    body=reason,
                    url=f"/admin/exams/examsession/{row.pk}/change/",
                )

    row, _changed = transition(
        session,
        allowed_from=(SS.SUBMITTED,),
        to=SS.DRAFT,
        actor=actor,
        action="exams.session.returned",
        verb=_("退回修改"),
        reason=reason,
        apply=apply,
    )
    return row


def session_approve(*, session: ExamSession, actor) -> ExamSession:
    """submitted → approved, by the authority; not once its theory exam time has passed (the
    plan goes back to draft through session_return: it is refused here with why)."""
    _require_staff_of(
        actor,
        authority=session.authority,
        refusal=_("您无权批准考试计划：只有发证机关工作人员可以批准。"),
    )

    def apply(row: ExamSession):
        _require_ahead(
            row, _("理论考核时间已过，不能批准；请将考试计划退回修改，改定时间后重新报审。")
        )

    row, _changed = transition(
        session,
        allowed_from=(SS.SUBMITTED,),
        to=SS.APPROVED,
        actor=actor,
        action="exams.session.approved",
        verb=_("批准"),
        apply=apply,
    )
    return row


@dataclass(frozen=True)
class AssignResult:
    assigned: list[ExamApplication]
    skipped: list[tuple[ExamApplication, str]]


def _ticket_number(session: ExamSession, seat: int) -> str:
    """Year + region code + trade code + session + seat: unique, and no personal data."""
    year = timezone.localtime(session.theory_at).year
    return f"{year}{session.authority.region_code}{session.trade.code}{session.pk:05d}{seat:03d}"


def session_assign(
    *, session: ExamSession, actor, applications: Iterable[ExamApplication] | None = None
) -> AssignResult:
    """Assign approved applications of the session's trade, authority and assessment
    institution (the one each applicant chose), in order of approval, up to capacity (or only
    ``applications``): each becomes scheduled with an admission ticket number, and its ticket
    PDF is rendered after commit."""
    from ..tasks import render_admission_ticket

    _require_staff_of(
        actor,
        institution=session.assessment_institution,
        authority=session.authority,
        refusal=_("您无权为这份考试计划安排考生。"),
    )
    assigned: list[ExamApplication] = []
    skipped: list[tuple[ExamApplication, str]] = []
    with transaction.atomic():
        locked = (
            ExamSession.objects.select_for_update()
            .select_related("authority", "trade")
            .get(pk=session.pk)
        )
        if locked.status != SS.APPROVED:
            raise DomainError(
                _("考试计划状态为“%(status)s”，只有已批准的计划可以安排考生。")
                % {"status": locked.get_status_display()},
                code="wrong_state",
            )
        if locked.theory_at <= timezone.now():
            # A ticket for an exam already held helps no one.
            raise DomainError(_("理论考核时间已过，不能再安排考生。"), code="exam_held")
        taken = locked.applications.count()
        candidates = (
            ExamApplication.objects.select_for_update()
            .filter(
                status=A.APPROVED,
                trade_id=locked.trade_id,
                authority_id=locked.authority_id,
                assessment_institution_id=locked.assessment_institution_id,
                session__isnull=True,
            )
            .order_by("approved_at", "pk")
        )
        if applications is not None:
            wanted = {a.pk for a in applications}
            eligible = {a.pk for a in candidates.filter(pk__in=wanted)}
            others = ExamApplication.objects.filter(pk__in=wanted - eligible).select_related(
                "trade", "authority", "assessment_institution", "session"
            )
            for application in others:
                skipped.append((application, _why_not_assignable(application, locked)))
            candidates = candidates.filter(pk__in=eligible)
        for application in candidates:
            if taken >= locked.capacity:
                skipped.append((application, _("考试计划已满。")))
                continue
            taken += 1
            application.status = A.SCHEDULED
            application.session = locked
            application.ticket_number = _ticket_number(locked, taken)
            application.save(update_fields=["status", "session", "ticket_number", "updated_at"])
            audit_record(
                actor=actor,
                action="exams.application.scheduled",
                obj=application,
                from_state=A.APPROVED,
                to_state=A.SCHEDULED,
                data={"session": locked.pk, "ticket_number": application.ticket_number},
            )
            with official_language():
                notify(
                    user=application.applicant,
                    title=_("您已被安排考试，请下载准考证"),
                    body=_("“%(trade)s”考核：理论 %(theory)s，地点 %(venue)s。")
                    % {
                        "trade": locked.trade.name,
                        "theory": local_minute(locked.theory_at),
                        "venue": locked.venue,
                    },
                    url=f"/me/applications/{application.pk}/",
                )
            pk = application.pk
            enqueue_on_commit(render_admission_ticket, pk)
            assigned.append(application)
    return AssignResult(assigned=assigned, skipped=skipped)


def _why_not_assignable(application: ExamApplication, session: ExamSession) -> str:
    """Why a selected application cannot go on this plan, in the words staff can act on."""
    if application.session_id is not None:
        return _("已安排在考试计划“%(name)s”。") % {"name": application.session.name}
    if application.status != A.APPROVED:
        return _("状态为“%(status)s”，只有“审核通过”的报名可以安排考试。") % {
            "status": application.get_status_display()
        }
    if application.trade_id != session.trade_id:
        return _("报考工种为“%(trade)s”，与本计划的工种“%(planned)s”不同。") % {
            "trade": application.trade.name,
            "planned": session.trade.name,
        }
    if application.authority_id != session.authority_id:
        return _("报名属于%(authority)s，不是本计划的发证机关。") % {
            "authority": application.authority.name
        }
    return _("报名选择的考核机构是%(institution)s，不是本计划的考核机构。") % {
        "institution": application.assessment_institution.name
    }


# --- scores ------------------------------------------------------------------------------


def _score_errors(
    application: ExamApplication, theory, practical, absent: bool
) -> list[tuple[str, str]]:
    """(column, message) for each broken scoring rule; the column as an import file names it."""
    policy = policy_for(application.authority)
    if absent:
        if theory is not None or practical is not None:
            return [("缺考", _("缺考的考生不能有成绩。"))]
        return []
    problems = []
    if theory is None and practical is not None:
        problems.append(("实操成绩", _("没有理论成绩时不能录入实操成绩。")))
    if theory is not None and theory < policy.theory_pass_mark and practical is not None:
        problems.append(
            (
                "实操成绩",
                _("理论成绩 %(theory)s 低于合格分 %(mark)s，该考生不参加实操考核，实操成绩应为空。")
                % {"theory": theory, "mark": policy.theory_pass_mark},
            )
        )
    return problems


SCORE_REFUSAL = gettext_lazy("您无权录入这份考试计划的成绩：由考核机构或发证机关工作人员录入。")


def may_enter_scores(actor, session: ExamSession) -> bool:
    """Whether ``actor`` is among those who enter the session's scores (its assessment
    institution's staff, its authority's, a superuser), whatever its state."""
    try:
        _require_staff_of(
            actor,
            institution=session.assessment_institution,
            authority=session.authority,
            refusal=str(SCORE_REFUSAL),
        )
    except DomainError:
        return False
    return True


def _require_scoring_open(session: ExamSession, actor) -> None:
    """Scores are entered by the session's staff, while it is approved and once its theory
    exam has begun: a score (or an absence) before the exam would be invented."""
    if not may_enter_scores(actor, session):
        raise DomainError(str(SCORE_REFUSAL), code="forbidden")
    if session.status != SS.APPROVED:
        raise DomainError(
            _("考试计划状态为“%(status)s”，不能录入成绩。")
            % {"status": session.get_status_display()},
            code="wrong_state",
        )
    waiting = scoring_waits_for(session)
    if waiting is not None and waiting[0] == "theory":
        raise DomainError(
            _("理论考核（%(time)s）尚未开始，不能录入成绩或缺考。")
            % {"time": local_minute(waiting[1])},
            code="not_held",
        )


def _practical_not_held(session: ExamSession) -> str | None:
    """The refusal for a practical score entered before the practical exam, or None."""
    waiting = scoring_waits_for(session)
    if waiting is None:
        return None
    return _("实操考核（%(time)s）尚未开始，不能录入实操成绩。") % {
        "time": local_minute(session.practical_at)
    }  # (after _require_scoring_open, only the practical exam can still be waited for)


def score_record(
    *,
    application: ExamApplication,
    actor,
    theory: Decimal | None,
    practical: Decimal | None,
    absent: bool = False,
) -> ExamApplication:
    """Enter or correct one candidate's scores before the session's scores are published."""
    with transaction.atomic():
        # The session locked first (as a reschedule locks it before its candidates): its times
        # and status are judged as they stand, not as a reschedule is changing them.
        session_id = (
            ExamApplication.objects.filter(pk=application.pk)
            .values_list("session_id", flat=True)
            .first()
        )
        session = ExamSession.objects.select_for_update().filter(pk=session_id).first()
        row = (
            ExamApplication.objects.select_for_update(of=("self",))
            .select_related("authority")
            .get(pk=application.pk)
        )
        if row.status != A.SCHEDULED or session is None or row.session_id != session.pk:
            raise DomainError(_("只有已安排考试的考生可以录入成绩。"), code="wrong_state")
        row.session = session
        _require_scoring_open(session, actor)
        for value in (theory, practical):
            if value is not None and not (0 <= value <= 100):
                raise ValidationError(_("成绩须在 0 到 100 之间。"))
        problems = _score_errors(row, theory, practical, absent)
        early = _practical_not_held(row.session)
        if practical is not None and practical != row.practical_score and early is not None:
            problems.append(("实操成绩", early))
        if problems:
            raise ValidationError([message for _column, message in problems])
        if (row.theory_score, row.practical_score, row.absent) == (theory, practical, absent):
            return row
        row.theory_score, row.practical_score, row.absent = theory, practical, absent
        row.save(update_fields=["theory_score", "practical_score", "absent", "updated_at"])
        audit_record(
            actor=actor,
            action="exams.application.scored",
            obj=row,
            data={
                "theory": str(theory) if theory is not None else None,
                "practical": str(practical) if practical is not None else None,
                "absent": absent,
            },
        )
    return row


SCORE_COLUMNS = (
    Column("ticket_number", ("准考证号", "ticket_number")),
    Column("id_number", ("身份证号", "身份证号码", "公民身份号码", "id_number")),
    Column("theory", ("理论成绩", "理论", "theory"), required=False, parse=parse_score),
    Column("practical", ("实操成绩", "实操", "practical"), required=False, parse=parse_score),
    Column("absent", ("缺考", "absent"), required=False, parse=parse_bool_cn),
)


def score_import(*, session: ExamSession, actor, data: bytes, filename: str) -> int:
    """Import a session's scores from CSV or XLSX (准考证号, 身份证号, 理论成绩, 实操成绩, 缺考).

    Every row is validated; if any row is bad, nothing is imported and ImportRefused carries
    every error (row, column, message). Returns the number of candidates updated.
    """
    _require_scoring_open(session, actor)
    practical_early = _practical_not_held(session)
    scheduled = {
        a.ticket_number: a
        for a in session.applications.select_related("authority").filter(status=A.SCHEDULED)
    }
    indexes = dict(
        ExamApplication.objects.filter(pk__in=[a.pk for a in scheduled.values()]).values_list(
            "pk", "applicant__profile__id_number_index"
        )
    )
    plan = []

    def validate(rows: list[dict]) -> list[RowError]:
        errors: list[RowError] = check_unique(rows, "ticket_number", "准考证号")
        for row in rows:
            application = scheduled.get(row["ticket_number"])
            if application is None:
                errors.append(RowError(row["_row"], "准考证号", _("准考证号不属于本考试计划。")))
                continue
            try:
                number = parse_id_number(row["id_number"]).number
            except ValidationError as exc:
                errors.append(RowError(row["_row"], "身份证号", " ".join(exc.messages)))
                continue
            if blind_index(number) != indexes.get(application.pk):
                errors.append(
                    RowError(row["_row"], "身份证号", _("身份证号与该准考证的考生不一致。"))
                )
                continue
            absent = bool(row.get("absent"))
            theory, practical = row.get("theory"), row.get("practical")
            for column, message in _score_errors(application, theory, practical, absent):
                errors.append(RowError(row["_row"], column, message))
            if practical is not None and practical_early is not None:
                errors.append(RowError(row["_row"], "实操成绩", practical_early))
            plan.append((application, theory, practical, absent))
        return errors

    read_table(data, filename, SCORE_COLUMNS, validate=validate)
    with transaction.atomic():
        for application, theory, practical, absent in plan:
            score_record(
                application=application,
                actor=actor,
                theory=theory,
                practical=practical,
                absent=absent,
            )
        audit_record(
            actor=actor,
            action="exams.session.scores_imported",
            obj=session,
            data={"rows": len(plan), "file": file_label(filename)},
        )
    return len(plan)


def session_publish_scores(*, session: ExamSession, actor) -> ExamSession:
    """approved → scores_published, by the authority: each scheduled candidate becomes passed
    or failed and is told in the portal and by e-mail. Refused while any candidate has no
    result (absent, theory below the pass mark, or both scores)."""
    _require_staff_of(
        actor,
        authority=session.authority,
        refusal=_("您无权发布成绩：只有发证机关工作人员可以发布。"),
    )
    policy = policy_for(session.authority)

    def publish(row: ExamSession):
        missing = []
        decided = []
        scheduled = list(row.applications.select_for_update().filter(status=A.SCHEDULED))
        # The candidates' profiles are locked below (their materials lock), in one order for
        # every publication: two sessions sharing candidates, published at once, would
        # otherwise lock the same profiles in opposite orders and deadlock.
        list(
            Profile.objects.select_for_update()
            .filter(user_id__in=[a.applicant_id for a in scheduled])
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        for application in scheduled:
            theory, practical = application.theory_score, application.practical_score
            if application.absent or (theory is not None and theory < policy.theory_pass_mark):
                passed = False
            elif theory is not None and practical is not None:
                passed = practical >= policy.practical_pass_mark
            else:
                missing.append(application.ticket_number)
                continue
            decided.append((application, passed))
        if missing:
            raise DomainError(
                _("以下考生还没有完整成绩，不能发布：%(tickets)s")
                % {"tickets": "、".join(missing[:20])},
                code="scores_incomplete",
            )
        row.published_at = timezone.now()
        for application, passed in decided:
            to = A.PASSED if passed else A.FAILED
            application.status = to
            application.save(update_fields=["status", "updated_at"])
            audit_record(
                actor=actor,
                action=f"exams.application.{to}",
                obj=application,
                from_state=A.SCHEDULED,
                to_state=to,
            )
            sync_materials_lock(application, to=to)
            with official_language():
                notify(
                    user=application.applicant,
                    title=_("考核成绩已发布：%(result)s")
                    % {"result": application.get_status_display()},
                    body=_("“%(trade)s”考核结果：%(result)s。")
                    % {
                        "trade": row.trade.name,
                        "result": application.get_status_display(),
                    },
                    url=f"/me/applications/{application.pk}/",
                )

    row, _changed = transition(
        session,
        allowed_from=(SS.APPROVED,),
        to=SS.SCORES_PUBLISHED,
        actor=actor,
        action="exams.session.scores_published",
        verb=_("发布成绩"),
        apply=publish,
    )
    return row


def session_update(*, session: ExamSession, actor, **fields) -> ExamSession:
    """Change a draft session's name, times, venue or capacity."""
    _require_planner(actor, session)
    allowed = {"name", "theory_at", "practical_at", "venue", "capacity"}
    with transaction.atomic():
        row = ExamSession.objects.select_for_update().get(pk=session.pk)
        if row.status != SS.DRAFT:
            raise DomainError(_("只有草稿状态的考试计划可以修改。"), code="wrong_state")
        for name, value in fields.items():
            if name in allowed:
                setattr(row, name, value)
        if "theory_at" in fields and row.theory_at <= timezone.now():
            raise ValidationError({"theory_at": [_("理论考核时间须晚于现在。")]})
        if row.practical_at < row.theory_at:
            raise ValidationError({"practical_at": [_("实操考核时间不能早于理论考核时间。")]})
        row.save()
        audit_record(
            actor=actor, action="exams.session.updated", obj=row, data={"fields": sorted(fields)}
        )
    return row


def session_delete(*, session: ExamSession, actor) -> None:
    """Delete a draft plan no one is scheduled on (a plan saved twice, one made in error), by
    its planner; audited with what it was. A plan once submitted stays, as its record."""
    _require_planner(actor, session)
    with transaction.atomic():
        row = ExamSession.objects.select_for_update().get(pk=session.pk)
        if row.status != SS.DRAFT:
            raise DomainError(
                _("只有草稿状态的考试计划可以删除；已报审的计划请先退回修改。"),
                code="wrong_state",
            )
        if row.applications.exists():
            raise DomainError(_("该考试计划已安排考生，不能删除。"), code="in_use")
        audit_record(
            actor=actor,
            action="exams.session.deleted",
            obj=row,
            data={
                "name": row.name,
                "trade": row.trade_id,
                "theory_at": row.theory_at.isoformat(),
                "venue": row.venue,
            },
        )
        row.delete()


def _kept_if_same_minute(stored: datetime | None, entered: datetime) -> datetime:
    """``stored`` when ``entered`` names the same minute, else ``entered``."""

    def minute(value: datetime) -> datetime:
        return value.replace(second=0, microsecond=0)

    if stored is not None and entered is not None and minute(stored) == minute(entered):
        return stored
    return entered


def session_reschedule(
    *, session: ExamSession, actor, theory_at: datetime, practical_at: datetime, venue: str
) -> ExamSession:
    """An approved session's exam moves (time or venue), by its authority. The scheduled
    candidates' tickets are withdrawn at once (the page says a new one is being made), drawn
    again after commit (the ticket sweep redraws any that fails), and each candidate is told.
    A time that changes must be later than now (the practical exam may still move once the
    theory exam is held). Refused once its scores are published. Nothing changed, nothing done.
    The audit event holds the old and the new values."""
    from ..tasks import render_admission_ticket

    _require_staff_of(
        actor,
        authority=session.authority,
        refusal=_("您无权调整考试计划：只有发证机关工作人员可以调整已批准的计划。"),
    )
    venue = (venue or "").strip()
    with transaction.atomic():
        row = ExamSession.objects.select_for_update().select_related("trade").get(pk=session.pk)
        if row.status != SS.APPROVED:
            raise DomainError(
                _(
                    "考试计划状态为“%(status)s”，只有已批准、尚未发布成绩的计划可以调整考试时间和地点。"
                )
                % {"status": row.get_status_display()},
                code="wrong_state",
            )
        # Times are entered to the minute: a stored time with seconds (a session imported, the
        # demo's) comes back from the form without them and is not a change.
        theory_at = _kept_if_same_minute(row.theory_at, theory_at)
        practical_at = _kept_if_same_minute(row.practical_at, practical_at)
        new = {"theory_at": theory_at, "practical_at": practical_at, "venue": venue}
        changed = [name for name, value in new.items() if getattr(row, name) != value]
        errors: dict[str, list[str]] = {}
        now = timezone.now()
        # An exam that has begun is history (its scores may be in): its time stays.
        if "theory_at" in changed and row.theory_at <= now:
            errors["theory_at"] = [
                _("理论考核已于 %(time)s 开始，时间不能再调整。")
                % {"time": local_minute(row.theory_at)}
            ]
        elif "theory_at" in changed and theory_at <= now:
            errors["theory_at"] = [_("理论考核时间须晚于现在。")]
        if "practical_at" in changed and row.practical_at <= now:
            errors["practical_at"] = [
                _("实操考核已于 %(time)s 开始，时间不能再调整。")
                % {"time": local_minute(row.practical_at)}
            ]
        elif "practical_at" in changed and practical_at <= now:
            errors["practical_at"] = [_("实操考核时间须晚于现在。")]
        if practical_at < theory_at:
            errors.setdefault("practical_at", []).append(_("实操考核时间不能早于理论考核时间。"))
        if not venue:
            errors["venue"] = [_("请填写考核地点。")]
        if errors:
            raise ValidationError(errors)
        if not changed:
            return row
        before = {name: getattr(row, name) for name in changed}
        row.theory_at, row.practical_at, row.venue = theory_at, practical_at, venue
        row.save(update_fields=["theory_at", "practical_at", "venue"])

        def shown(value):
            return timezone.localtime(value).isoformat() if isinstance(value, datetime) else value

        audit_record(
            actor=actor,
            action="exams.session.rescheduled",
            obj=row,
            data={
                "fields": changed,
                "from": {name: shown(value) for name, value in before.items()},
                "to": {name: shown(new[name]) for name in changed},
            },
        )
        candidates = list(row.applications.filter(status=A.SCHEDULED).select_related("applicant"))
        old_tickets = [a.ticket_pdf.name for a in candidates if a.ticket_pdf]
        ExamApplication.objects.filter(pk__in=[a.pk for a in candidates]).update(
            ticket_pdf="", ticket_error=""
        )
        transaction.on_commit(lambda: delete_stored_files(old_tickets))
        for application in candidates:
            with official_language():
                notify(
                    user=application.applicant,
                    title=_("考试时间或地点已调整，请重新下载准考证"),
                    body=_("“%(trade)s”考核：理论 %(theory)s，实操 %(practical)s，地点 %(venue)s。")
                    % {
                        "trade": row.trade.name,
                        "theory": local_minute(theory_at),
                        "practical": local_minute(practical_at),
                        "venue": venue,
                    },
                    url=f"/me/applications/{application.pk}/",
                )
            enqueue_on_commit(render_admission_ticket, application.pk)
    return row
