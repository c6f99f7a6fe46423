"""List filters by a related record that read the related table, not the list.

Django's ``RelatedOnlyFieldListFilter`` offers the records that occur in the list, which it
learns by reading every row in scope (``SELECT DISTINCT authority_id`` over a province's
certificates, ``SELECT DISTINCT session_id`` over its applications) on each page load. For
an authority's staff and superusers the choices are known without that: the authorities they
act for, the institutions and exam sessions under those authorities (training institutions:
their provinces'). An institution's own
staff keep Django's filter: their list is one institution's, small, and the institutions
their applicants met are exactly the ones worth offering.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import ExamSession, Institution
from .selectors import authorities_in_scope, authority_ids_in_scope, membership_of


class ScopedAuthorityFilter(admin.RelatedFieldListFilter):
    """The authorities in the staff member's scope; shown only when there is a choice (a city's
    staff have one authority, and no filter)."""

    def field_choices(self, field, request, model_admin):
        return [
            (authority.pk, str(authority))
            for authority in authorities_in_scope(request.user).order_by("region_code")
        ]


def _scoped_filter(
    choices: Callable[[object], QuerySet], empty_label=None
) -> type[admin.RelatedFieldListFilter]:
    class ScopedFilter(admin.RelatedOnlyFieldListFilter):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            if empty_label is not None:
                self.empty_value_display = empty_label  # the choice for "none", not "-"

        def field_choices(self, field, request, model_admin):
            user = request.user
            if not user.is_superuser:
                membership = membership_of(user)
                if membership is None or membership.institution_id:
                    return super().field_choices(field, request, model_admin)
            return [(record.pk, str(record)) for record in choices(user)]

    return ScopedFilter


def _assessment_institutions(user) -> QuerySet:
    """An application is its assessment institution's authority's: the centres under the
    authorities in scope."""
    qs = Institution.objects.filter(kind=Institution.Kind.ASSESSMENT)
    return qs if user.is_superuser else qs.filter(authority__in=authority_ids_in_scope(user))


def _training_institutions(user) -> QuerySet:
    """An application may name a training institution anywhere in its authority's province
    (exams.services.applications): those of the provinces in scope, a city's staff included."""
    qs = Institution.objects.filter(kind=Institution.Kind.TRAINING)
    if user.is_superuser:
        return qs
    provinces = {a.province.pk for a in authorities_in_scope(user).select_related("parent")}
    return qs.filter(Q(authority__in=provinces) | Q(authority__parent__in=provinces))


def _ce_providers(user) -> QuerySet:
    """A continuing-education record is its provider's authority's: the providers (any
    institution offering continuing education, or a platform, active or not) under the
    authorities in scope."""
    qs = Institution.objects.filter(
        Q(offers_continuing_education=True) | Q(kind=Institution.Kind.CE_PLATFORM)
    )
    return qs if user.is_superuser else qs.filter(authority__in=authority_ids_in_scope(user))


SESSIONS_OFFERED_DAYS = 180


def _sessions(user) -> QuerySet:
    """The sessions held in the last six months or still to come, newest first: an authority
    holds thousands over the years, and a list of them all is no choice. An older session's
    applications are on its own page (考生), or by its id in the address."""
    since = timezone.now() - timedelta(days=SESSIONS_OFFERED_DAYS)
    qs = ExamSession.objects.filter(theory_at__gte=since).order_by("-theory_at", "-id")
    return qs if user.is_superuser else qs.filter(authority__in=authority_ids_in_scope(user))


AssessmentInstitutionFilter = _scoped_filter(_assessment_institutions)
TrainingInstitutionFilter = _scoped_filter(_training_institutions, _("未经培训机构"))
SessionFilter = _scoped_filter(_sessions, _("未安排考试"))
CeProviderFilter = _scoped_filter(_ce_providers)
