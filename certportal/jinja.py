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
Constant texts and addresses are written into the compiled templates
(:class:`FoldConstantCalls`, :class:`Translations`); the context processors are this module's
own where Django's did more than the pages read.
"""

from __future__ import annotations

import weakref

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.backends.utils import csrf_input
from django.templatetags.static import static as django_static
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import translation
from django.utils.autoreload import file_changed
from django.utils.functional import SimpleLazyObject
from django.utils.translation import trans_real
from jinja2 import Environment, nodes, pass_environment
from jinja2.ext import Extension, InternationalizationExtension
from jinja2.lexer import Token, TokenStream
from markupsafe import Markup

from certportal import context_processors
from certportal.forms_html import form_fields
from certportal.templatetags.portal import cn_date

_memo: dict[tuple, object] = {}
_environments: weakref.WeakSet[PortalEnvironment] = weakref.WeakSet()


@receiver(setting_changed)
def _forget(**kwargs) -> None:
    """A changed setting (tests override them) may change an address, and the compiled
    templates have addresses and texts written into them (:class:`FoldConstantCalls`,
    :class:`Translations`)."""
    _memo.clear()
    for env in list(_environments):
        env.forget_compiled()


@receiver(file_changed)
def _forget_translations(sender, file_path, **kwargs) -> None:
    """The development server reloads a changed catalogue (``.mo``) without restarting, as
    Django's own ``translation_file_changed`` does: the texts written into the compiled
    templates go with it."""
    if file_path.suffix == ".mo":
        _forget()


def url(name: str, *args) -> str:
    """``url('verification:qr_preview', token)``: Django's ``reverse``. Written with a constant
    name alone, ``url('home')`` is looked up once, when the template is compiled
    (:class:`FoldConstantCalls`)."""
    if args:
        return reverse(name, args=args)
    return _remembered(("url", get_script_prefix(), get_urlconf(), name), lambda: reverse(name))


def static(path: str) -> str:
    """``static('css/site.css')``: Django's, remembered (the manifest does not change while a
    process runs); with a constant path, written into the compiled template."""
    return _remembered(("static", path), lambda: django_static(path))


def _remembered(key: tuple, make):
    address = _memo.get(key)
    if address is None:
        address = _memo[key] = make()
    return address


def languages() -> list[dict]:
    """The languages the switcher offers, as ``{% get_language_info_list %}`` gives them
    (made once per process: the settings name them)."""
    return _remembered(
        ("languages",),
        lambda: [translation.get_language_info(code) for code, _name in settings.LANGUAGES],
    )


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


@pass_environment
def _translated_pattern(environment, message: str) -> str:
    """What a ``{% trans %}`` block (without a plural) becomes: its text translated when the
    template is compiled, marked safe where escaping is on and formatted as the page renders
    (``Markup % {…}`` escapes the values), as the "newstyle" gettext does."""
    return _gettext(environment, message)


# Calls of a constant that the compiler writes out: ``_("…")`` (translated into each
# language's copy), ``url("name")`` and ``static("path")`` (the address, which does not
# change while a process runs with the same settings).
_FOLDED_CALLS = {
    "_": "translated",
    "gettext": "translated",
    "url": "address",
    "static": "static_address",
}


class FoldConstantCalls(Extension):
    """``_("…")``, ``url("…")`` and ``static("…")`` of one constant string are worked out when
    the template is compiled: rewritten to ``"…"|translated`` (``|address``,
    ``|static_address``), filters the optimiser calls while compiling and writes into the
    code. A page holds some forty texts and seven addresses; looked up as it renders, the
    texts were a third of the cost of drawing it and the addresses (through Jinja2's call of a
    global and Django's thread-locals) another sixth. A call with variables, and
    ``{% trans %}``, are worked out as the page renders, but for a ``{% trans %}`` block's
    text (:class:`Translations`).

    The four names are the portal's in its templates: a template must not bind ``url``,
    ``static``, ``_`` or ``gettext`` to something else (a ``{% set %}`` or a macro of that name
    would be passed over). An attribute, ``obj.url("…")``, is left alone.

    An address written into the code is that of the first request to draw the template: the
    portal is served at one script prefix and one URLconf per process (``jinja2/base.html``
    writes ``/verify/`` and its neighbours literally anyway). A changed setting drops every
    compiled template (``_forget``)."""

    def filter_stream(self, stream: TokenStream):
        pending: list[Token] = []
        before = None  # the type of the token before pending[0]
        for token in stream:
            pending.append(token)
            if len(pending) < 4:
                continue
            name, opening, text, closing = pending
            if (
                (name.type, opening.type, text.type, closing.type)
                == ("name", "lparen", "string", "rparen")
                and name.value in _FOLDED_CALLS
                and before != "dot"  # ``obj.url("…")`` is the object's own
            ):
                yield Token(text.lineno, "string", text.value)
                yield Token(text.lineno, "pipe", "|")
                yield Token(text.lineno, "name", _FOLDED_CALLS[name.value])
                before = "name"
                pending.clear()
            else:
                before = pending[0].type
                yield pending.pop(0)
        yield from pending


class Translations(InternationalizationExtension):
    """Jinja2's i18n extension, with a ``{% trans %}`` block's text (without a plural)
    translated when the template is compiled, as :class:`FoldConstantCalls` does for
    ``_("…")``: only its variables are formatted in as the page renders. Looked up at each
    render, each such block cost as much as eight addresses. (A block with ``{% pluralize %}``
    is translated as the page renders: the form depends on the number.)"""

    def _make_node(
        self, singular, plural, context, variables, plural_expr, vars_referenced, num_called_num
    ):
        if plural_expr is not None or context is not None:
            return super()._make_node(
                singular,
                plural,
                context,
                variables,
                plural_expr,
                vars_referenced,
                num_called_num,
            )
        text = nodes.MarkSafeIfAutoescape(
            nodes.Filter(nodes.Const(singular), "translated_pattern", [], [], None, None)
        )
        pairs = [nodes.Pair(nodes.Const(key), value) for key, value in variables.items()]
        return nodes.Output([nodes.Mod(text, nodes.Dict(pairs))])


class PortalEnvironment(Environment):
    """One compiled copy of every template per language: the environment Django's backend
    holds hands each ``get_template`` to an overlay for the active language, whose templates
    (and those they extend or include) are compiled with that language's text in them."""

    language: str | None = None

    def forget_compiled(self) -> None:
        """Drop the compiled templates of every language's copy."""
        self.cache.clear()
        for overlay in list(self.__dict__.get("_overlays", {}).values()):
            overlay.cache.clear()

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
    """Context processor: ``certportal.context_processors.portal``'s, its lazy text made once
    per process and language rather than at each of the page's four uses of it; and the
    ``LANGUAGE_CODE`` of Django's ``i18n`` processor (the pages read nothing else of it), the
    active language read once."""
    language = translation.get_language()
    names = _remembered(
        ("portal", language),
        lambda: {name: str(value) for name, value in context_processors.portal(request).items()},
    )
    return {**names, "LANGUAGE_CODE": language}


def csrf(request) -> dict:
    """Context processor: ``csrf_input`` made once per page. Django's Jinja2 backend makes
    (and masks) a new one each time a template writes it, and the layout writes it twice."""
    return {"csrf_input": SimpleLazyObject(lambda: csrf_input(request))}


@pass_environment
def _form_fields(environment, form) -> Markup:
    """``form_fields(form)``, in the language this copy of the templates is for."""
    return form_fields(form, language=environment.language)


def environment(**options) -> PortalEnvironment:
    options["extensions"] = [*options.get("extensions", ()), Translations, FoldConstantCalls]
    env = PortalEnvironment(**options)
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)
    env.globals.update(static=static, url=url, languages=languages, form_fields=_form_fields)
    env.filters.update(
        translated=_translated,
        translated_pattern=_translated_pattern,
        address=reverse,
        static_address=static,
        cn_date=cn_date,
    )
    _environments.add(env)
    return env
