"""The Jinja2 pages (certportal/jinja.py) look like every other page, and speak every language.

``jinja2/base.html`` repeats ``templates/base.html`` in Jinja2: these tests hold the two to the
same markup, so that a change to one that is not made to the other fails here. They also hold
the Jinja2 pages' text to the translation catalogue, which ``make messages`` must keep."""

from __future__ import annotations

import re
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages import constants, get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.template import engines
from django.test import RequestFactory
from django.utils import translation
from jinja2 import Environment

from certportal.management.commands.makemessages import jinja_messages
from exams.models import Authority
from tests.factories import staff_factory, user_factory

JINJA_DIR = Path(settings.BASE_DIR) / "jinja2"
CSRF_VALUE = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]+"')


def normalised(html: str) -> str:
    """Markup with the whitespace between tags and the per-page CSRF tokens taken out."""
    html = CSRF_VALUE.sub(r'\1…"', html)
    html = re.sub(r">\s+", ">", html)
    html = re.sub(r"\s+<", "<", html)
    return re.sub(r"\s+", " ", html).strip()


def page_request(user, message: str | None = None):
    request = RequestFactory().get("/verify/")
    request.user = user
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    if message:
        request._messages.add(constants.ERROR, message)
    return request


def both_layouts(request, language: str) -> tuple[str, str]:
    with translation.override(language):
        django = engines["django"].get_template("base.html").render({}, request)
        list(get_messages(request))  # shown once; the second layout shows them again
        if getattr(request, "_messages", None) is not None:
            request._messages.used = False
        jinja = engines["jinja2"].get_template("base.html").render({}, request)
    return normalised(django), normalised(jinja)


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("who", ["visitor", "applicant", "staff"])
@pytest.mark.parametrize("debug", [True, False])
def test_the_two_layouts_draw_the_same_page(settings, language, who, debug):
    settings.DEBUG = debug  # off, {% once %} serves what it kept; on, it renders every time
    user = {
        "visitor": AnonymousUser,
        "applicant": lambda: user_factory(),
        "staff": lambda: staff_factory(authority=Authority.objects.first()),
    }[who]()
    django, jinja = both_layouts(page_request(user, message="身份证号不能放在网址中。"), language)
    assert django == jinja
    assert "身份证号不能放在网址中。" in jinja  # the message is on the page
    if who == "staff":
        assert 'href="/admin/"' in jinja
    if language == "en":
        assert "跳到正文" not in jinja and "Skip to" in jinja


def test_a_difference_in_the_layouts_would_be_seen():
    """The comparison above is not blind: one changed word between tags shows."""
    html = '<nav aria-label="主导航">\n  <ul class="nav"><li>证书查验</li></ul>\n</nav>'
    assert normalised(html) == normalised(html.replace("\n  ", " "))
    assert normalised(html) != normalised(html.replace("证书查验", "证书查询"))


# Translations -------------------------------------------------------------------------------


def catalogue(language: str) -> dict[str, polib.POEntry]:
    po = polib.pofile(str(Path(settings.BASE_DIR) / "locale" / language / "LC_MESSAGES/django.po"))
    return {entry.msgid: entry for entry in po if not entry.obsolete}


def test_every_text_of_the_jinja_pages_is_translated_to_english():
    english = catalogue("en")
    found = jinja_messages(JINJA_DIR)
    assert len(found) > 50  # the pages' own text, not an empty walk
    singular = {msgid[0] if isinstance(msgid, tuple) else msgid for msgid in found}
    missing = sorted(
        msgid for msgid in singular if msgid not in english or not english[msgid].translated()
    )
    assert not missing, f"not in locale/en/…/django.po (run `make messages`): {missing}"


def test_makemessages_finds_the_jinja_pages_text(tmp_path):
    """``make messages`` reads jinja2/ with Jinja2's own parser: `{% trans %}` blocks and
    `_()` with and without variables, plural forms included."""
    page = tmp_path / "jinja2" / "page.html"
    page.parent.mkdir()
    page.write_text(
        '{{ _("证书查验") }} {{ _("%(n)s 本", n=1) }}\n'
        "{% trans day=d %}{{ day }}起{% endtrans %}\n"
        "{% trans n=k %}查到 {{ n }} 本证书{% pluralize %}查到 {{ n }} 本证书们{% endtrans %}\n",
        encoding="utf-8",
    )
    assert jinja_messages(tmp_path / "jinja2") == {
        "证书查验",
        "%(n)s 本",
        "%(day)s起",
        ("查到 %(n)s 本证书", "查到 %(n)s 本证书们"),
    }


def test_a_constant_text_is_translated_when_the_page_is_compiled():
    """``_("…")`` of a constant is written, translated, into each language's compiled copy of
    a template (what makes the pages cheap); one with variables is translated as it renders."""
    env = engines["jinja2"].env
    source = '{{ _("证书查验") }}|{{ _("查询时间：%(when)s", when=w) }}'
    for language in ("zh-hans", "en"):
        with translation.override(language):
            title, checked = (
                translation.gettext("证书查验"),
                translation.gettext("查询时间：%(when)s"),
            )
            overlay = env.for_language(language)
            code = overlay.compile(source, raw=True)
            shown = overlay.from_string(source).render(w="9:00")
        assert repr(title + "|") in code  # the translation itself, written into the code
        if language == "en":
            assert "证书查验" not in code  # no lookup left to run
        assert shown == f"{title}|{checked % {'when': '9:00'}}"
    assert title != "证书查验"  # English was tried
    assert env.for_language("en") is env.for_language("en")


def test_a_trans_blocks_text_is_translated_when_the_page_is_compiled():
    """A ``{% trans %}`` block's text is written, translated, into the code; its variables are
    escaped into it as the page renders (as Jinja2's own gettext does), and a literal "%"
    stays one."""
    env = engines["jinja2"].env
    source = (
        "{% trans when=w %}查询时间：{{ when }}{% endtrans %}|{% trans n=n %}{{ n }}%{% endtrans %}"
    )
    with translation.override("en"):
        checked = translation.gettext("查询时间：%(when)s")
        overlay = env.for_language("en")
        code = overlay.compile(source, raw=True)
        shown = overlay.from_string(source).render(w="<b>9:00</b>", n=5)
    assert checked != "查询时间：%(when)s" and repr(checked) in code
    assert "查询时间" not in code
    assert shown == checked % {"when": "&lt;b&gt;9:00&lt;/b&gt;"} + "|5%"


def test_a_trans_block_follows_the_autoescape_in_force():
    """Where escaping is off, a block's values go in as they are, as Jinja2's gettext puts
    them."""
    env = engines["jinja2"].env.for_language("zh-hans")
    source = "{% autoescape false %}{% trans x=v %}甲{{ x }}{% endtrans %}{% endautoescape %}"
    assert env.from_string(source).render(v="<i>") == "甲<i>"


def test_only_the_portals_own_functions_are_folded():
    """``obj.url("…")`` is the object's own method, called as the page renders."""

    class Thing:
        def url(self, name):
            return f"thing:{name}"

        def gettext(self, text):
            return f"said:{text}"

    env = engines["jinja2"].env.for_language("zh-hans")
    page = env.from_string('{{ o.url("home") }}|{{ o.gettext("证书查验") }}').render(o=Thing())
    assert page == "thing:home|said:证书查验"


def test_a_changed_catalogue_is_read_again_by_the_development_server(settings):
    """The development server reloads a changed ``.mo`` without restarting: the texts written
    into the compiled templates are dropped with Django's catalogues."""
    from pathlib import Path as P

    from django.utils.autoreload import file_changed

    env = engines["jinja2"].env.for_language("en")
    template = env.get_template("verification/rate_limited.html")
    assert env.get_template("verification/rate_limited.html") is template
    with translation.override("zh-hans"):  # Django's own receiver resets the active language
        file_changed.send(sender=None, file_path=P("locale/en/LC_MESSAGES/django.mo"))
    assert env.get_template("verification/rate_limited.html") is not template


def test_an_address_is_written_into_the_page_and_follows_the_settings(client, settings):
    """``url("…")`` and ``static("…")`` of a constant are looked up when the template is
    compiled; a changed setting compiles the pages again, so the page never shows an address
    of the old settings."""
    env = engines["jinja2"].env
    code = env.for_language("zh-hans").compile(
        '{{ url("verification:verify") }}|{{ static("css/site.css") }}', raw=True
    )
    assert "yield '/verify/|/static/css/site.css'" in code  # nothing left to look up
    assert 'href="/static/css/site.css"' in client.get("/verify/").content.decode()
    settings.STATIC_URL = "/assets/"
    page = client.get("/verify/").content.decode()
    assert 'href="/assets/css/site.css"' in page and "/static/" not in page


def test_the_pages_translate_only_texts_written_in_them():
    """Jinja2's gettext trusts what it translates (as the catalogue's own text): ``_(x)`` of
    a variable would put ``x`` on the page unescaped, where Django's ``{% translate x %}``
    escapes it. Every ``_()``/``gettext()``/``ngettext()`` in the pages must name its text."""
    from jinja2 import nodes

    parser = Environment(extensions=["jinja2.ext.i18n"])  # noqa: S701 (parses, never renders)
    offenders = []
    for path in sorted(JINJA_DIR.rglob("*.html")):
        tree = parser.parse(path.read_text(encoding="utf-8"))
        for call in tree.find_all(nodes.Call):
            if isinstance(call.node, nodes.Name) and call.node.name in {"_", "gettext", "ngettext"}:
                texts = call.args[:2] if call.node.name == "ngettext" else call.args[:1]
                if not texts or not all(isinstance(arg, nodes.Const) for arg in texts):
                    offenders.append(f"{path.relative_to(JINJA_DIR)}:{call.lineno}")
    assert not offenders, offenders
    # And the check sees one:
    bad = parser.parse("{{ _(name) }}")
    assert not isinstance(next(bad.find_all(nodes.Call)).args[0], nodes.Const)


def test_a_page_drawn_without_an_active_language_is_in_the_sites_own():
    from django.template.loader import render_to_string

    with translation.override(None):  # as in a command that deactivates translation
        html = render_to_string(
            "verification/qr_not_found.html",
            {},
            request=page_request(AnonymousUser()),
            using="jinja2",
        )
    assert "此二维码不是有效的证书查验码" in html


def test_makemessages_reads_only_the_projects_jinja_templates(tmp_path):
    """Only templates of the project's jinja2/ folder are read as Jinja2: a ``.py`` file in an
    installed package named jinja2 (a virtualenv inside the project) is left to xgettext as
    it is, never overwritten by the work file."""
    from certportal.management.commands.makemessages import is_jinja_template

    assert is_jinja_template(JINJA_DIR / "verification" / "verify.html")
    assert not is_jinja_template(Path(settings.BASE_DIR) / "venv/lib/site-packages/jinja2/ext.py")
    assert not is_jinja_template(tmp_path / "jinja2" / "page.html")
    assert not is_jinja_template(Path(settings.BASE_DIR) / "templates" / "base.html")
