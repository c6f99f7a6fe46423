"""``form_fields(form)`` for the Jinja2 pages (certportal/jinja.py; the lookup page shows three
forms): the fields of a form as ``_form_fields.html`` draws them on every other page
(``jinja2/_form_fields.html`` is its Jinja2 copy, at a third of the cost), blank forms drawn
once."""

from __future__ import annotations

import functools

from django import forms
from django.conf import settings
from django.template.loader import render_to_string
from django.utils.safestring import SafeString
from django.utils.translation import get_language

FORM_FIELDS_TEMPLATE = "_form_fields.html"


def form_fields(form: forms.Form | type[forms.Form]) -> SafeString:
    """The fields of ``form``, as ``_form_fields.html`` draws them.

    A form *class* stands for its blank form. Every lookup answers with the whole page and its
    three forms, and a blank form renders the same every time: the same labels, help texts and
    empty inputs in the same language. Rendering them was a third of the page's cost, so a
    blank form's HTML is kept per process, form and language, and the form is not even built.
    A form (one echoing a lookup, or showing errors) is rendered each time. Under DEBUG every
    form is rendered, so that template edits show at once.
    """
    if isinstance(form, type):
        if not settings.DEBUG:
            return _blank_form_fields(form, get_language())
        form = form()
    return SafeString(render_to_string(FORM_FIELDS_TEMPLATE, {"form": form}, using="jinja2"))


@functools.lru_cache(maxsize=64)
def _blank_form_fields(form_class: type[forms.Form], language: str) -> SafeString:
    # ``language`` is part of the key only: the active language renders the labels.
    return SafeString(
        render_to_string(FORM_FIELDS_TEMPLATE, {"form": form_class()}, using="jinja2")
    )
