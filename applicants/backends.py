"""Login with the mobile number (the username) or the ID number (the profile's, or the one an
account registered with), and the throttling key."""

from __future__ import annotations

import contextlib

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError

from certportal.pii import blind_index

from .idcard import ID_NUMBER_SHAPE, fold_id_text, parse_id_number
from .models import User, id_number_holder


def looks_like_id_number(value: str | None) -> bool:
    """Whether a login name is an ID number in any spelling that ``parse_id_number`` reads:
    full-width digits and X, spaces between groups."""
    return bool(value) and bool(ID_NUMBER_SHAPE.fullmatch(fold_id_text(value)))


class MobileOrIdNumberBackend(ModelBackend):
    """ModelBackend that also accepts an ID number in place of the username."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if looks_like_id_number(username):
            try:
                number = parse_id_number(username).number
            except ValidationError:
                number = None
            holder = id_number_holder(blind_index(number)) if number else None
            username = (
                User.objects.filter(pk=holder).values_list("username", flat=True).first()
                if holder
                else None
            )
            if username is None:
                User().set_password(password)  # same work as a real check: no timing oracle
                return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def login_name_for_throttling(request, credentials=None) -> str:
    """The key django-axes counts failures under: an ID number only as a keyed hash."""
    value = (credentials or {}).get("username")
    if value is None and request is not None:
        value = getattr(request, "POST", {}).get("username")
    value = (value or "").strip()
    if looks_like_id_number(value):
        # The number as login reads it (full-width digits folded, 15 digits made 18): every
        # spelling of one person's number counts against the same account, and so does its
        # mobile login (one budget per account, not one per way of naming it).
        number = None
        with contextlib.suppress(ValidationError):
            number = parse_id_number(value).number
        if number is None:
            return "id:" + blind_index(fold_id_text(value))[:24]
        holder = id_number_holder(blind_index(number))
        username = (
            User.objects.filter(pk=holder).values_list("username", flat=True).first()
            if holder
            else None
        )
        return username.lower()[:150] if username else "id:" + blind_index(number)[:24]
    return value.lower()[:150]
