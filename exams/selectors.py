"""Reads worth naming for reference data."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from .models import Authority, Policy, StaffMembership, Trade


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
