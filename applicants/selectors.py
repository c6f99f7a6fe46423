"""Reads of applicants' records, each answering 404 for what is not the requester's."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.http import Http404

from .models import Material, Profile, User
from .uploads import DEFAULT_RULES, MaterialKind, MaterialRules

# Higher apps (exams: staff reviewing an applicant's application) register who may see an
# applicant's records: each rule maps a staff user to a Q over User (the applicants).
StaffScopeRule = Callable[[User], Q | None]
_staff_scope_rules: list[StaffScopeRule] = []


def register_staff_scope_rule(rule: StaffScopeRule) -> None:
    if rule not in _staff_scope_rules:
        _staff_scope_rules.append(rule)


def applicants_visible_to(staff: User) -> QuerySet[User]:
    """The applicants whose records a staff member may see: none unless a rule grants it."""
    if not staff.is_authenticated or not staff.is_active:
        return User.objects.none()
    if staff.is_superuser:
        return User.objects.all()
    if not staff.is_staff:
        return User.objects.none()
    condition = _granted(_staff_scope_rules, staff)
    return (
        User.objects.filter(condition).distinct() if condition is not None else User.objects.none()
    )


def _granted(rules: list[StaffScopeRule], staff: User) -> Q | None:
    """What the rules grant ``staff``, together (or None when no rule grants anything)."""
    condition = None
    for rule in rules:
        q = rule(staff)
        if q is not None:
            condition = q if condition is None else condition | q
    return condition


# The applicants whose full ID number a staff member is shown (SPEC 2: "masked everywhere
# except to the holder and to staff who need it"): a superuser's, and whatever the registered
# rules grant (exams: the authority's staff for the applicants in its scope, an institution's
# staff while an application of theirs is under review); to every other member it is masked.
_full_id_number_rules: list[StaffScopeRule] = []


def register_full_id_number_rule(rule: StaffScopeRule) -> None:
    if rule not in _full_id_number_rules:
        _full_id_number_rules.append(rule)


def shows_full_id_number(staff: User, applicant_id: int) -> bool:
    if staff.is_superuser:
        return True
    condition = _granted(_full_id_number_rules, staff)
    if condition is None:
        return False
    return applicants_visible_to(staff).filter(condition, pk=applicant_id).exists()


def profile_of(user: User) -> Profile | None:
    try:
        return user.profile
    except Profile.DoesNotExist:
        return None


def get_own_material(user: User, kind: str) -> Material:
    material = Material.objects.filter(owner=user, kind=kind).first()
    if material is None or not user.is_authenticated:
        raise Http404
    return material


# A medical certificate belongs to one exam application (SPEC 3: "per exam application"):
# staff who may see its owner's profile and papers may open it only through an application
# of theirs that carries it. exams registers the rule (a Q over Material); with none, only
# superusers open one.
MedicalScopeRule = Callable[[User], Q]
_medical_scope_rules: list[MedicalScopeRule] = []


def register_medical_scope_rule(rule: MedicalScopeRule) -> None:
    if rule not in _medical_scope_rules:
        _medical_scope_rules.append(rule)


def medical_visible_to(staff: User) -> Q:
    """The medical certificates ``staff`` may open, as a condition over Material."""
    if staff.is_superuser:
        return Q()
    condition = Q(pk__in=[])
    for rule in _medical_scope_rules:
        condition |= rule(staff)
    return condition


def materials_shown_to_staff(staff: User) -> QuerySet[Material]:
    """Every material staff may open: the papers of the applicants they see, and of their
    medical certificates only those of their own applications."""
    return Material.objects.filter(owner__in=applicants_visible_to(staff)).filter(
        ~Q(kind=MaterialKind.MEDICAL) | medical_visible_to(staff)
    )


def get_material_for_staff(staff: User, pk: int) -> Material:
    material = (
        materials_shown_to_staff(staff).filter(pk=pk).first() if staff.is_authenticated else None
    )
    if material is None:
        raise Http404
    return material


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    label: str
    done: bool
    url: str


def profile_checklist(user: User) -> list[ChecklistItem]:
    """What a complete profile needs, in the order an applicant does it."""
    profile = profile_of(user)
    uploaded = set(
        Material.objects.filter(owner=user, kind__in=Material.PROFILE_KINDS).values_list(
            "kind", flat=True
        )
    )
    items = [
        ChecklistItem(
            "profile", str(Profile._meta.verbose_name), profile is not None, "/me/profile/"
        )
    ]
    for kind in Material.PROFILE_KINDS:
        items.append(
            ChecklistItem(kind, str(MaterialKind(kind).label), kind in uploaded, "/me/materials/")
        )
    return items


# The dashboard (/me/, SPEC 5): besides the profile and materials it shows the person's
# applications and certificates and what to do next. Those belong to other apps, which register
# a provider here (from their AppConfig.ready), as the staff scope rules above are registered.
@dataclass(frozen=True)
class DashboardItem:
    label: str  # what it is: a trade, a certificate number
    state: str  # where it stands
    url: str


@dataclass(frozen=True)
class DashboardTask:
    """Something the person should do now; the lowest ``order`` comes first."""

    text: str
    url: str
    order: int = 50


@dataclass(frozen=True)
class DashboardSection:
    title: str
    items: list[DashboardItem]
    tasks: list[DashboardTask]
    more_url: str = ""
    empty: str = ""
    order: int = 50


DashboardProvider = Callable[[User], DashboardSection]
_dashboard_providers: list[DashboardProvider] = []


def register_dashboard_provider(provider: DashboardProvider) -> None:
    if provider not in _dashboard_providers:
        _dashboard_providers.append(provider)


def dashboard_sections(user: User) -> list[DashboardSection]:
    return sorted((provider(user) for provider in _dashboard_providers), key=lambda s: s.order)


# Material rules are the authority's (Policy); an upload is judged by those of the authority
# the person is applying to. exams registers the provider (the latest application's authority);
# with none, or no application yet, the defaults (the Quanzhou document) apply.
MaterialRulesProvider = Callable[[User], MaterialRules | None]
_material_rules_providers: list[MaterialRulesProvider] = []


def register_material_rules_provider(provider: MaterialRulesProvider) -> None:
    if provider not in _material_rules_providers:
        _material_rules_providers.append(provider)


def material_rules_for(user: User) -> MaterialRules:
    for provider in _material_rules_providers:
        rules = provider(user)
        if rules is not None:
            return rules
    return DEFAULT_RULES
