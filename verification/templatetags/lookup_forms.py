"""``{% form_fields form %}`` for the lookup page: its blank forms are rendered once."""

from __future__ import annotations

import functools

from django import forms, template
from django.conf import settings
from django.template.loader import render_to_string
from django.utils.safestring import SafeString
from django.utils.translation import get_language

register = template.Library()

FORM_FIELDS_TEMPLATE = "_form_fields.html"


@register.simple_tag
def form_fields(form: forms.Form) -> SafeString:
    """The fields of ``form``, as ``_form_fields.html`` renders them.

    Every lookup answers with the whole page and its three forms, and a blank form renders
    the same every time: the same labels, help texts and empty inputs in the same language.
    Rendering them was a third of the page's cost, so a blank form's HTML is kept per process,
    form and language. A bound form (one echoing a lookup, or showing errors) is rendered each
    time. Under DEBUG every form is rendered, so that template edits show at once.
    """
    if form.is_bound or settings.DEBUG:
        return render_to_string(FORM_FIELDS_TEMPLATE, {"form": form})
    return _blank_form_fields(type(form), form.auto_id, form.prefix, get_language())


@functools.lru_cache(maxsize=64)
def _blank_form_fields(form_class, auto_id, prefix, language: str) -> SafeString:
    # ``language`` is part of the key only: the active language renders the labels.
    return render_to_string(
        FORM_FIELDS_TEMPLATE, {"form": form_class(auto_id=auto_id, prefix=prefix)}
    )
