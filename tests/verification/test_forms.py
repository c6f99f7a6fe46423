"""The lookup page draws its forms as every other page does: its text boxes, drawn in Python,
are the markup of Django's widget templates, and its Jinja2 copy of ``_form_fields.html`` is
the markup of the original."""

from __future__ import annotations

import pytest
from django import forms
from django.template import engines
from django.utils import translation

from certportal import forms_html
from tests.certportal.test_jinja_layout import normalised
from tests.verification.helpers import UNKNOWN_ID
from verification.forms import (
    NoEchoTextInput,
    NumberLookupForm,
    PersonLookupForm,
    PlainTextInput,
    UploadLookupForm,
)

ATTRS = [
    {},
    {"autocomplete": "off", "spellcheck": "false"},
    {"required": True, "disabled": False, "maxlength": 40, "tabindex": 0},
    {"aria-describedby": "x-help", "aria-invalid": "true", "data-note": "\"<b>&amp;'"},
]
VALUES = [None, "", "闽C052026000001", "a\"b<c>&d'", 0]


@pytest.mark.parametrize("attrs", ATTRS)
@pytest.mark.parametrize("value", VALUES)
def test_the_text_box_is_the_markup_of_djangos_template(attrs, value):
    ours = PlainTextInput(attrs={"class": "wide"}).render("cert_no", value, attrs=attrs)
    django = forms.TextInput(attrs={"class": "wide"}).render("cert_no", value, attrs=attrs)
    assert ours == django


def test_the_bound_forms_draw_as_with_djangos_widgets():
    """Whole forms, with errors and help texts (aria attributes), as the page echoes them."""
    data = {"cert_no": "闽C05" + "0" * 20 + '<script>"', "name": "王小明"}
    ours = NumberLookupForm(data)
    django = NumberLookupForm(data)
    for field in django.fields.values():
        field.widget.__class__ = forms.TextInput
    assert not ours.is_valid() and not django.is_valid()  # too long: an error is shown
    for name in ("cert_no", "name"):
        assert str(ours[name]) == str(django[name])
    assert "&lt;script&gt;&quot;" in str(ours["cert_no"])


def test_the_id_number_is_never_echoed():
    form = PersonLookupForm({"name": "王小明", "id_number": "350503198801011234"})
    assert isinstance(form.fields["id_number"].widget, NoEchoTextInput)
    assert "350503198801011234" not in str(form["id_number"])
    assert 'value="' not in str(form["id_number"])


def both_copies(form) -> tuple[str, str]:
    """``_form_fields.html`` as every other page draws a form, and the lookup page's copy."""
    context = {"form": form}
    return (
        normalised(engines["django"].get_template("_form_fields.html").render(context)),
        normalised(engines["jinja2"].get_template("_form_fields.html").render(context)),
    )


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize(
    "form",
    [
        lambda: PersonLookupForm(),
        lambda: NumberLookupForm(),
        lambda: UploadLookupForm(),
        lambda: PersonLookupForm({"name": "", "id_number": "35050319880101123"}),
        lambda: NumberLookupForm({"cert_no": "闽C05" + "0" * 20, "name": "<王>"}),
        lambda: NumberLookupForm({"cert_no": "闽C052026000001", "name": "王小明"}),
        lambda: UploadLookupForm({}, {}),
    ],
)
def test_the_lookup_page_draws_a_form_as_every_other_page(form, language):
    with translation.override(language):
        bound = form()
        if bound.is_bound:
            bound.is_valid()
        django, jinja = both_copies(bound)
    assert django == jinja
    assert 'class="field' in jinja
    if bound.is_bound and bound.errors:
        assert 'class="errorlist"' in jinja and "has-error" in jinja


ECHOED = [
    {"cert_no": "闽C052026000001", "name": "王小明"},
    {"cert_no": " 闽C05 2026 000001 ", "name": "  王小明"},
    {"cert_no": 'x"><script>&amp;', "name": "<b>'王'</b>"},
    {"cert_no": "闽C052026000001", "name": "王" * 30},
]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("data", ECHOED)
def test_an_echoed_form_is_filled_into_its_kept_drawing(data, language, settings):
    """Outside DEBUG a valid number form is not rendered but filled in: the very same HTML."""
    settings.DEBUG = False
    forms_html._echo_drawing.cache_clear()
    with translation.override(language):
        form = NumberLookupForm(data)
        assert form.is_valid()
        filled = forms_html.form_fields(form)
        rendered = forms_html._rendered(NumberLookupForm(data))
        # The second of a language is filled into the drawing kept from the first.
        assert forms_html.form_fields(NumberLookupForm(data)) == filled
    assert forms_html._echo_drawing.cache_info().hits >= 1
    assert filled == rendered
    assert "\x00" not in filled
    assert filled.count(' value="') == 2


def test_a_filled_form_never_shows_the_id_number(settings):
    settings.DEBUG = False
    form = PersonLookupForm({"name": "王小明", "id_number": UNKNOWN_ID})
    assert form.is_valid()
    filled = forms_html.form_fields(form)
    assert filled == forms_html._rendered(form)
    assert UNKNOWN_ID not in filled and 'value="' not in filled


VALID = {"cert_no": "闽C052026000001", "name": "王小明"}


class _Reordered(NumberLookupForm):
    field_order = ["name", "cert_no"]


@pytest.mark.parametrize(
    "form",
    [
        lambda: NumberLookupForm({**VALID, "cert_no": "闽C05" + "0" * 40}),  # errors
        lambda: NumberLookupForm(VALID, auto_id="x-%s"),
        lambda: NumberLookupForm({"p-cert_no": VALID["cert_no"], "p-name": "王"}, prefix="p"),
        lambda: NumberLookupForm(VALID, use_required_attribute=False),
        lambda: _Reordered(VALID),
    ],
)
def test_other_bound_forms_are_rendered(form, settings):
    """A form with errors, or whose markup is not its kept drawing's, is rendered; a form
    class of its own (other field order) is filled into its own drawing: the same HTML."""
    settings.DEBUG = False
    bound, again = form(), form()
    bound.is_valid()
    drawn = forms_html.form_fields(bound)
    assert drawn == forms_html._rendered(again)
    assert "\x00" not in drawn
    if not bound.errors:
        assert VALID["cert_no"] in drawn
