"""Reads worth naming for reference data."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from applicants.models import Material, Profile
from applicants.uploads import KB, MB, MaterialKind, MaterialRules

from .eligibility import Check, EligibilityFacts, EligibilityRules, check_eligibility
from .models import (
    OPEN_APPLICATION_STATES,
    Authority,
    ExamApplication,
    ExamSession,
    Policy,
    StaffMembership,
    Trade,
)


def policy_for(authority: Authority) -> Policy:
    """The authority's policy, else its province's, else the defaults (unsaved)."""
    for candidate in (authority, authority.parent):
        if candidate is None:
            continue
        try:
            return candidate.policy
        except Policy.DoesNotExist:
            continue
    return Policy(authority=authority)


def trades_for(authority: Authority) -> QuerySet[Trade]:
    """National trades plus the province's own (code 99) trades."""
    return Trade.objects.filter(
        Q(authority__isnull=True) | Q(authority=authority.province), is_active=True
    )


def membership_of(user) -> StaffMembership | None:
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.staff_membership
    except StaffMembership.DoesNotExist:
        return None


def is_training_staff(user) -> bool:
    """Staff of a training institution: they follow their trainees, and see no score before
    the session's scores are published."""
    membership = membership_of(user)
    return bool(
        membership and membership.institution_id and membership.institution.kind == "training"
    )


def scores_visible_to(user, application: ExamApplication) -> bool:
    """Whether ``user`` may read ``application``'s scores: training staff once published."""
    if not is_training_staff(user):
        return True
    session = application.session
    return session is not None and session.status == ExamSession.Status.SCORES_PUBLISHED


def authorities_in_scope(user) -> QuerySet[Authority]:
    """Authorities a staff member acts for: their own and, for a province, its cities.

    Superusers see all; institution staff and everyone else see none.
    """
    if user.is_superuser:
        return Authority.objects.all()
    membership = membership_of(user)
    if membership is None or membership.authority_id is None:
        return Authority.objects.none()
    return Authority.objects.filter(
        Q(pk=membership.authority_id) | Q(parent_id=membership.authority_id)
    )


def authority_ids_in_scope(user) -> list[int]:
    """The authorities of ``authorities_in_scope``, as their ids, for filtering a large table.

    PostgreSQL plans ``authority_id IN (350000, 350500)`` from its statistics of each value;
    ``authority_id IN (SELECT id FROM exams_authority WHERE …)`` it plans by a guess at the
    subquery's share (two authorities of 35: about one row in twenty), and for a province
    holding far more it chose plans ten times slower (the lookup record's count at 2,000,000
    lookups: 730 → 59 ms, benchmarks/admin_lists.py). One query of a few rows.
    """
    return list(authorities_in_scope(user).values_list("pk", flat=True))


# Higher apps (certificates) tell the eligibility engine whether someone already holds a
# valid or suspended certificate of a trade: (applicant user, trade) -> bool.
CertificateHoldingCheck = Callable[[object, Trade], bool]
_certificate_holding_checks: list[CertificateHoldingCheck] = []


def register_certificate_holding_check(check: CertificateHoldingCheck) -> None:
    if check not in _certificate_holding_checks:
        _certificate_holding_checks.append(check)


def holds_certificate_of_trade(applicant, trade: Trade) -> bool:
    return any(check(applicant, trade) for check in _certificate_holding_checks)


# And whether another passed application of the applicant's for the trade is still awaiting its
# certificate (neither issued nor refused): (application) -> bool.
AwaitingCertificateCheck = Callable[[ExamApplication], bool]
_awaiting_certificate_checks: list[AwaitingCertificateCheck] = []


def register_awaiting_certificate_check(check: AwaitingCertificateCheck) -> None:
    if check not in _awaiting_certificate_checks:
        _awaiting_certificate_checks.append(check)


def awaits_certificate_of_trade(application: ExamApplication) -> bool:
    return any(check(application) for check in _awaiting_certificate_checks)


def applications_visible_to(user) -> QuerySet[ExamApplication]:
    """Applications a staff member may see: none of the drafts (they are the applicant's own);
    institution staff those of their institution, authority staff those of their scope."""
    qs = ExamApplication.objects.select_related(
        "trade", "authority", "assessment_institution", "training_institution", "session"
    )
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return qs.none()
    if user.is_superuser:
        return qs.exclude(status=ExamApplication.Status.DRAFT)
    membership = membership_of(user) if user.is_staff else None
    if membership is None:
        return qs.none()
    qs = qs.exclude(status=ExamApplication.Status.DRAFT)
    if membership.institution_id:
        return qs.filter(
            Q(training_institution_id=membership.institution_id)
            | Q(assessment_institution_id=membership.institution_id)
        )
    return qs.filter(authority__in=authority_ids_in_scope(user))


def sessions_visible_to(user) -> QuerySet[ExamSession]:
    qs = ExamSession.objects.select_related("trade", "assessment_institution", "authority")
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return qs.none()
    if user.is_superuser:
        return qs
    membership = membership_of(user) if user.is_staff else None
    if membership is None:
        return qs.none()
    if membership.institution_id:
        return qs.filter(
            Q(assessment_institution_id=membership.institution_id)
            | Q(training_institution_id=membership.institution_id)
        )
    return qs.filter(authority__in=authority_ids_in_scope(user))


def get_application_for_user(user, pk: int) -> ExamApplication:
    """The applicant's own application, or 404 (for anyone else's, too)."""
    application = (
        ExamApplication.objects.select_related(
            "trade", "authority", "assessment_institution", "training_institution", "session"
        )
        .filter(pk=pk, applicant_id=getattr(user, "pk", None))
        .first()
        if getattr(user, "is_authenticated", False)
        else None
    )
    if application is None:
        raise Http404
    return application


def eligibility_rules_for(authority: Authority) -> EligibilityRules:
    policy = policy_for(authority)
    return EligibilityRules(
        min_age=policy.min_age,
        female_max_age=policy.female_max_age,
        min_education=policy.min_education,
        medical_max_age_months=policy.medical_max_age_months,
    )


def eligibility_report(application: ExamApplication, *, today: date | None = None) -> list[Check]:
    """Every eligibility check of SPEC 4.2 for this application, passed or not."""
    today = today or timezone.localdate()
    profile = Profile.objects.filter(user_id=application.applicant_id).first()
    stored = {
        m.kind: m
        for m in Material.objects.filter(
            owner_id=application.applicant_id, kind__in=Material.PROFILE_KINDS
        )
    }
    rules = material_rules(policy_for(application.authority))
    missing = tuple(
        str(MaterialKind(kind).label)
        if kind not in stored
        else f"{MaterialKind(kind).label}（{broken}）"
        for kind in Material.PROFILE_KINDS
        if kind not in stored or (broken := material_breaks(stored[kind], rules))
    )
    if profile is None:
        missing = (str(_("实名信息")), *missing)
    facts = EligibilityFacts(
        birth_date=profile.birth_date if profile else today,
        sex=profile.sex if profile else "M",
        education=profile.education if profile else "primary",
        medical_exam_date=application.medical_exam_date
        if application.medical_certificate_id
        else None,
        holds_same_trade_certificate=holds_certificate_of_trade(
            application.applicant, application.trade
        ),
        awaiting_same_trade_certificate=awaits_certificate_of_trade(application),
        has_other_open_application=ExamApplication.objects.filter(
            applicant_id=application.applicant_id,
            trade_id=application.trade_id,
            status__in=OPEN_APPLICATION_STATES,
        )
        .exclude(pk=application.pk)
        .exists(),
        missing_materials=missing,
    )
    return check_eligibility(facts, eligibility_rules_for(application.authority), today=today)


# A ticket is rendered seconds after its candidate is scheduled; one still missing this long
# after is not waiting in a queue.
TICKET_OVERDUE_AFTER = timedelta(minutes=10)


def tickets_missing_ids(limit: int | None = None) -> list[int]:
    """Scheduled applications whose admission ticket PDF was never stored
    ``TICKET_OVERDUE_AFTER`` after they last changed (the render message lost, or its worker
    gone). Ones scheduled more recently are left to their own message, so a backlog is not
    sent twice; one whose data cannot be drawn (``ticket_error``) waits for staff."""
    qs = (
        ExamApplication.objects.filter(
            status=ExamApplication.Status.SCHEDULED,
            ticket_number__isnull=False,
            session__isnull=False,
            ticket_pdf="",
            ticket_error="",
            updated_at__lt=timezone.now() - TICKET_OVERDUE_AFTER,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return list(qs[:limit] if limit else qs)


def material_rules(policy: Policy) -> MaterialRules:
    """The authority's limits for materials, as the upload checks take them."""
    return MaterialRules(
        photo_min_kb=policy.photo_min_kb,
        photo_max_kb=policy.photo_max_kb,
        id_scan_max_long_px=policy.id_scan_max_long_px,
        id_scan_max_short_px=policy.id_scan_max_short_px,
        education_proof_max_mb=policy.education_proof_max_mb,
    )


def material_breaks(material: Material, rules: MaterialRules) -> str:
    """Which of the authority's limits a stored material breaks ("" when none), judged on
    what was recorded at upload: a material uploaded under other rules (the defaults, or
    another authority's) may not meet this authority's. The photo's limits are on the file
    uploaded, and what is stored is smaller (metadata stripped): only a stored photo already
    too large is known to break the maximum; its minimum was judged at upload."""
    if material.kind == MaterialKind.PHOTO and material.size >= rules.photo_max_kb * KB:
        return _("须小于 %(max)d KB") % {"max": rules.photo_max_kb}
    if material.kind == MaterialKind.ID_SCAN and material.width and material.height:
        long_side, short_side = sorted((material.width, material.height), reverse=True)
        if long_side > rules.id_scan_max_long_px or short_side > rules.id_scan_max_short_px:
            return _("须在 %(long)d×%(short)d 像素以内") % {
                "long": rules.id_scan_max_long_px,
                "short": rules.id_scan_max_short_px,
            }
    elif (
        material.kind == MaterialKind.EDUCATION_PROOF
        and material.size > rules.education_proof_max_mb * MB
    ):
        return _("不超过 %(mb)d MB") % {"mb": rules.education_proof_max_mb}
    return ""


def material_rules_of_latest_application(user) -> MaterialRules | None:
    """The rules an upload is judged by: those of the authority of the person's latest open
    application (registered with applicants in ``ExamsConfig.ready``); None before any."""
    latest = (
        ExamApplication.objects.filter(applicant=user, status__in=OPEN_APPLICATION_STATES)
        .select_related("authority", "authority__parent")
        .order_by("-created_at", "-pk")
        .first()
    )
    return material_rules(policy_for(latest.authority)) if latest else None


def scoring_waits_for(session: ExamSession) -> tuple[str, datetime] | None:
    """The exam whose scores may not be entered yet, as ("theory" | "practical", its start):
    scores and absences wait for the theory exam to begin, a practical score for the
    practical exam. None once both have begun. The services refuse by it; the session's
    admin page shows its columns read-only and says when they open by it."""
    now = timezone.now()
    if session.theory_at > now:
        return "theory", session.theory_at
    if session.practical_at > now:
        return "practical", session.practical_at
    return None
