"""Test data factories: plain functions with sensible defaults, keyword overrides."""

from __future__ import annotations

import itertools

from django.contrib.auth.models import Group

from applicants.models import User
from certportal import roles
from exams.models import Authority, Institution, StaffMembership

PASSWORD = "Test-pass-2026!"
_seq = itertools.count(1)


def user_factory(*, role: str = roles.APPLICANT, username: str | None = None, **fields) -> User:
    username = username or f"user{next(_seq)}"
    user = User.objects.create_user(username=username, password=PASSWORD, **fields)
    if role != roles.SUPERUSER:
        user.groups.add(Group.objects.get(name=role))
    return user


def staff_factory(
    *, authority: Authority | None = None, institution: Institution | None = None, **fields
) -> User:
    role = roles.AUTHORITY_STAFF if authority is not None else roles.INSTITUTION_STAFF
    user = user_factory(role=role, is_staff=True, **fields)
    StaffMembership.objects.create(user=user, authority=authority, institution=institution)
    return user
