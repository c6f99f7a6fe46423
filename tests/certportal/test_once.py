"""``{% once %}``: the static parts of busy pages rendered once per process and language, and
never anything one visitor must not see of another's."""

from __future__ import annotations

import pytest
from django.template import Context, Engine, TemplateSyntaxError
from django.test import Client
from django.utils import translation

from tests.factories import user_factory

ENGINE = Engine(
    libraries={"portal": "certportal.templatetags.portal", "i18n": "django.templatetags.i18n"}
)


def template(text: str):
    return ENGINE.from_string("{% load portal %}" + text)


def test_a_fragment_is_rendered_once_per_language_and_named_value():
    page = template("{% once kind %}{{ kind }}:{{ counter.next }}{% endonce %}")
    calls = iter(range(100))
    counter = {"next": lambda: next(calls)}

    def render(kind, language="zh-hans"):
        with translation.override(language):
            return page.render(Context({"kind": kind, "counter": counter}))

    first = render("a")
    assert render("a") == first  # served as rendered: the counter is not read again
    assert render("b") != first  # another value of what the tag names: rendered anew
    assert render("a", "en") not in (first, render("b"))  # another language: anew
    assert render("a") == first


def test_under_debug_a_fragment_is_rendered_every_time(settings):
    settings.DEBUG = True
    page = template("{% once %}{{ counter.next }}{% endonce %}")
    calls = iter(range(100))
    context = {"counter": {"next": lambda: next(calls)}}
    assert page.render(Context(context)) != page.render(Context(context))


@pytest.mark.parametrize(
    "inner",
    [
        "{% csrf_token %}",
        "{% block title %}x{% endblock %}",
        "{% once %}x{% endonce %}",
        "{% if a %}{% csrf_token %}{% endif %}",
        # An included template is not checked: it could hold a token.
        "{% include 'a_form.html' %}",
        "{% if a %}{% include name %}{% endif %}",
        "<input value='{{ csrf_token }}'>",
        "{{ csrf_input|safe }}",
    ],
)
def test_a_fragment_may_not_hold_a_token_or_a_block(inner):
    with pytest.raises(TemplateSyntaxError, match="cannot hold"):
        template("{% once %}" + inner + "{% endonce %}")


@pytest.mark.parametrize(
    "inner",
    [
        "{% with t=csrf_token %}{{ t }}{% endwith %}",
        "{{ x|default:csrf_token }}",
        "{% firstof csrf_token %}",
        "{% load i18n %}{% blocktranslate with t=csrf_token %}{{ t }}{% endblocktranslate %}",
        "{% for c in csrf_input %}{{ c }}{% endfor %}",
    ],
)
@pytest.mark.parametrize("debug", [True, False])
def test_a_token_reached_another_way_fails_on_the_first_render(inner, debug, settings):
    settings.DEBUG = debug
    page = template("{% once %}" + inner + "{% endonce %}")
    with pytest.raises(TemplateSyntaxError, match="CSRF token"):
        page.render(Context({"csrf_token": "SECRET1", "csrf_input": "<input value=SECRET1>"}))


def test_a_fragment_may_show_other_variables_and_strings():
    page = template("{% once %}{{ label }} {{ 'csrf_token' }}{% endonce %}")
    assert page.render(Context({"label": "证书查验"})) == "证书查验 csrf_token"


@pytest.mark.django_db
def test_the_lookup_page_keeps_each_visitors_token_and_navigation():
    """The page's static parts come from {% once %}; the CSRF token of a signed-in visitor's
    sign-out form, their navigation and the language still belong to each request."""
    anonymous = Client()
    first = anonymous.get("/verify/").content.decode()
    token = 'name="csrfmiddlewaretoken" value="'
    assert token not in first  # the lookups and the language switch need none
    assert "/accounts/login/" in first and "/me/" not in first
    # The language form returns each visitor to the page they were on.
    assert 'name="next" type="hidden" value="/verify/"' in first
    login = anonymous.get("/accounts/login/").content.decode()
    assert 'name="next" type="hidden" value="/accounts/login/"' in login

    pages = []
    for _ in range(2):
        member = Client()
        member.force_login(user_factory())
        pages.append(member.get("/verify/").content.decode())
    for signed_in in pages:
        assert "/me/" in signed_in and "/accounts/login/" not in signed_in
        assert signed_in.count(token) == 1  # the sign-out form
    assert pages[0].split(token)[1][:64] != pages[1].split(token)[1][:64]
    english = anonymous.get("/verify/", headers={"cookie": "django_language=en"}).content.decode()
    assert "Verify a certificate" in english and "证书查验" not in english
    assert "证书查验" in anonymous.get("/verify/").content.decode()
