"""The Jinja2 environment of the public verification pages (templates in ``jinja2/``).

Every public lookup answers with a whole page, at up to 1,200 a second (SPEC 7). Django's
template language cost those pages about 0.8 ms of Python per request, as much as all the rest
of the lookup together, even with their static parts rendered once per process; Jinja2
compiles a template to Python and renders the same page in a tenth of that (the README's
Performance section has the figures). Every other page, the admin's included, stays in Django's
template language: they are not served under load, and the admin needs it.

``jinja2/base.html`` is the same layout as ``templates/base.html``, so that a visitor cannot
tell which engine drew a page: ``tests/certportal/test_jinja_layout.py`` renders the two and
requires the same header, navigation and footer in every language and login state. Change
them together.

What the templates find here, besides the context processors' variables and Django's
``request``, ``csrf_input`` and ``csrf_token``: ``_``/``gettext``/``ngettext`` and
``{% trans %}`` (Django's translations, formatted and escaped as Jinja2's "newstyle" gettext
does), ``static()``, ``url()``, ``languages()``, ``form_fields()`` and the filter
``cn_date``. ``make messages`` reads these templates too (certportal's ``makemessages``).
"""

from __future__ import annotations

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.backends.utils import csrf_input
from django.templatetags.static import static as django_static
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import translation
from django.utils.functional import SimpleLazyObject
from django.utils.translation import trans_real
from jinja2 import Environment, pass_environment
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream
from markupsafe import Markup

from certportal import context_processors
from certportal.forms_html import form_fields
from certportal.templatetags.portal import cn_date

_memo: dict[tuple, str] = {}


@receiver(setting_changed)
def _forget(**kwargs) -> None:
    """A changed setting (tests override them) may change an address."""
    _memo.clear()


def url(name: str, *args) -> str:
    """``url('verification:qr_preview', token)``: Django's ``reverse``; an address without
    arguments is remembered per URLconf and prefix (a page names five, at 17 µs each)."""
    if args:
        return reverse(name, args=args)
    return _remembered(("url", get_script_prefix(), get_urlconf(), name), lambda: reverse(name))


def static(path: str) -> str:
    """``static('css/site.css')``: Django's, remembered (the manifest does not change while a
    process runs)."""
    return _remembered(("static", path), lambda: django_static(path))


def _remembered(key: tuple, make) -> str:
    address = _memo.get(key)
    if address is None:
        address = _memo[key] = make()
    return address


def languages() -> list[dict]:
    """The languages the switcher offers, as ``{% get_language_info_list %}`` gives them."""
    return [translation.get_language_info(code) for code, _name in settings.LANGUAGES]


def _catalog(environment):
    """The translations of the language this copy of the templates is for (see
    :class:`PortalEnvironment`)."""
    return trans_real.translation(
        environment.language or translation.get_language() or settings.LANGUAGE_CODE
    )


@pass_environment
def _gettext(environment, message: str) -> str:
    return _catalog(environment).gettext(message)


@pass_environment
def _ngettext(environment, singular: str, plural: str, number: int) -> str:
    return _catalog(environment).ngettext(singular, plural, number)


@pass_environment
def _translated(environment, message: str) -> Markup:
    """``"…"|translated``: what ``_("…")`` of a constant becomes. Its argument is a constant,
    so Jinja2's optimiser calls it while compiling and writes the result into the template."""
    # The catalogue's own text, trusted as {% translate %} trusts it (and "%%" is "%", as in
    # the "newstyle" gettext that ``_()`` of variables goes through).
    return Markup(_gettext(environment, message) % {})  # noqa: S704


_GETTEXT_NAMES = ("_", "gettext")


class TranslateConstants(Extension):
    """``_("…")`` of a constant string is translated when the template is compiled: rewritten
    to ``"…"|translated``, which the optimiser folds into the text. A page holds some forty
    such strings; looked up as it renders, they were a third of the cost of drawing it. A
    ``_()`` with variables, and ``{% trans %}``, are translated as the page renders."""

    def filter_stream(self, stream: TokenStream):
        pending: list[Token] = []
        for token in stream:
            pending.append(token)
            if len(pending) < 4:
                continue
            name, opening, text, closing = pending
            if (name.type, opening.type, text.type, closing.type) == (
                "name",
                "lparen",
                "string",
                "rparen",
            ) and name.value in _GETTEXT_NAMES:
                yield Token(text.lineno, "string", text.value)
                yield Token(text.lineno, "pipe", "|")
                yield Token(text.lineno, "name", "translated")
                pending.clear()
            else:
                yield pending.pop(0)
        yield from pending


class PortalEnvironment(Environment):
    """One compiled copy of every template per language: the environment Django's backend
    holds hands each ``get_template`` to an overlay for the active language, whose templates
    (and those they extend or include) are compiled with that language's text in them."""

    language: str | None = None

    def get_template(self, name, parent=None, globals=None):
        if self.language is None:
            # (No active language, translation deactivated: the site's own.)
            return self.for_language(translation.get_language()).get_template(name, parent, globals)
        return super().get_template(name, parent, globals)

    def for_language(self, language: str | None) -> PortalEnvironment:
        language = language or settings.LANGUAGE_CODE
        if self.language is not None:
            return self if language == self.language else self.linked_to.for_language(language)
        overlays = self.__dict__.setdefault("_overlays", {})
        overlay = overlays.get(language)
        if overlay is None:
            overlay = self.overlay()
            overlay.language = language
            del overlay._overlays  # overlay() copied this environment's attributes
            overlay = overlays.setdefault(language, overlay)
        return overlay


def portal(request) -> dict:
    """Context processor: ``certportal.context_processors.portal``'s, its lazy text made
    once per page rather than at each of the page's four uses of it."""
    return {name: str(value) for name, value in context_processors.portal(request).items()}


def csrf(request) -> dict:
    """Context processor: ``csrf_input`` made once per page. Django's Jinja2 backend makes
    (and masks) a new one each time a template writes it, and the layout writes it twice."""
    return {"csrf_input": SimpleLazyObject(lambda: csrf_input(request))}


def environment(**options) -> PortalEnvironment:
    options["extensions"] = [*options.get("extensions", ()), "jinja2.ext.i18n", TranslateConstants]
    env = PortalEnvironment(**options)
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)
    env.globals.update(static=static, url=url, languages=languages, form_fields=form_fields)
    env.filters.update(translated=_translated, cn_date=cn_date)
    return env
