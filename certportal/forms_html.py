"""``form_fields(form)`` for the Jinja2 pages (certportal/jinja.py; the lookup page shows three
forms): the fields of a form as ``_form_fields.html`` draws them on every other page
(``jinja2/_form_fields.html`` is its Jinja2 copy, at a third of the cost), blank forms drawn
once, and an echoed form filled into its drawing."""

from __future__ import annotations

import functools

from django import forms
from django.conf import settings
from django.template.loader import render_to_string
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

FORM_FIELDS_TEMPLATE = "_form_fields.html"


class PlainTextInput(forms.TextInput):
    """A text box with the very markup of Django's ``django/forms/widgets/input.html``, drawn
    in Python. The lookup page echoes the certificate-number form on every number lookup
    (SPEC 7), and drawing its two boxes through Django's widget templates cost 0.3 ms a page;
    ``tests/verification/test_forms.py`` holds the two to the same output."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        html = [f'<input type="{conditional_escape(widget["type"])}"']
        html.append(f' name="{conditional_escape(widget["name"])}"')
        if widget["value"] is not None:
            html.append(f' value="{conditional_escape(widget["value"])}"')
        for attr, attr_value in widget["attrs"].items():
            if attr_value is True:
                html.append(f" {conditional_escape(attr)}")
            elif attr_value is not False:
                html.append(f' {conditional_escape(attr)}="{conditional_escape(attr_value)}"')
        html.append(">")
        return mark_safe("".join(html))  # noqa: S308 — every part escaped above


def form_fields(form: forms.Form | type[forms.Form], language: str | None = None) -> SafeString:
    """The fields of ``form``, as ``_form_fields.html`` draws them.

    A form *class* stands for its blank form. Every lookup answers with the whole page and its
    three forms, and a blank form renders the same every time: the same labels, help texts and
    empty inputs in the same language. Rendering them was a third of the page's cost, so a
    blank form's HTML is kept per process, form and language, and the form is not even built.

    A valid bound form whose boxes are all :class:`PlainTextInput` (the
    certificate-number form, echoed by every lookup by number, a QR scan's "look up another"
    included) differs from its blank drawing only in the values of its boxes: it is drawn by
    filling them into a drawing kept the same way (:func:`_echo_drawing`), which costs a
    twentieth of rendering it. Any other form (one showing errors) is rendered each time.
    Under DEBUG every form is rendered, so that template edits show at once;
    ``tests/verification/test_forms.py`` holds the two ways to the same output.

    ``language`` is the active one, given by a caller that knows it (the page's copy of the
    templates is for one language), to save reading it again.
    """
    if isinstance(form, type):
        if not settings.DEBUG:
            return _blank_form_fields(form, language or get_language())
        form = form()
    elif not settings.DEBUG and _fillable(form):
        return _filled(form, language or get_language())
    return _rendered(form)


def _rendered(form: forms.Form) -> SafeString:
    return SafeString(render_to_string(FORM_FIELDS_TEMPLATE, {"form": form}, using="jinja2"))


@functools.lru_cache(maxsize=64)
def _blank_form_fields(form_class: type[forms.Form], language: str) -> SafeString:
    # ``language`` is part of the key only: the active language renders the labels.
    return _rendered(form_class())


def _placeholder(name: str) -> str:
    """What stands for a box's value in the kept drawing: no typed value can hold a NUL (the
    form field refuses it), and escaping leaves it as it is."""
    return f"\x00{name}\x00"


def _fillable(form: forms.Form) -> bool:
    return (
        form.is_bound
        and not form.errors
        and form.prefix is None
        and all(isinstance(field.widget, PlainTextInput) for field in form.fields.values())
    )


@functools.lru_cache(maxsize=64)
def _echo_drawing(form_class: type[forms.Form], language: str) -> tuple[tuple, tuple]:
    """The form drawn with a placeholder for each box's value and cut at each ``value="…"``:
    what a form must share with the drawing to be filled into it (element ids, fields in
    order, the ``required`` attributes), and ``(text before, field name)`` pairs, the last
    with no name. (``language`` is part of the key only, as for the blank form.)"""
    form = form_class(initial={name: _placeholder(name) for name in form_class.base_fields})
    html = _rendered(form)
    pieces: list[tuple[str, str]] = []
    for name in form.fields:
        before, found, rest = html.partition(f' value="{_placeholder(name)}"')
        if found:  # (a NoEchoTextInput never shows its value)
            pieces.append((before, name))
            html = rest
    pieces.append((html, ""))
    if any("\x00" in text for text, _name in pieces):
        raise AssertionError(f"{form_class.__name__}: a value drawn outside its box")
    return _shape(form), tuple(pieces)


def _shape(form: forms.Form) -> tuple:
    return (form.auto_id, tuple(form.fields), form.use_required_attribute)


def _filled(form: forms.Form, language: str) -> SafeString:
    shape, pieces = _echo_drawing(type(form), language)
    if _shape(form) != shape:  # other ids, fields or attributes than the kept drawing's
        return _rendered(form)
    out = []
    for before, name in pieces:
        out.append(before)
        if name:
            value = form.fields[name].widget.format_value(form[name].value())
            if value is not None:
                out.append(f' value="{conditional_escape(value)}"')
    return SafeString("".join(out))
