import weakref
from datetime import datetime

from django import template
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.base import Variable, VariableNode
from django.template.defaulttags import CsrfTokenNode
from django.template.loader_tags import BlockNode, IncludeNode
from django.utils import timezone
from django.utils.translation import get_language

register = template.Library()


@register.filter
def staff_label(obj) -> str:
    from certportal.admin_actions import staff_label as label

    return label(obj)


@register.filter
def masked_login(user) -> str:
    """An account's login as a mail or page may name it: a mobile number as 138****0001 (the
    owner knows it; a forwarded mail does not give it away), a staff login name as it is
    (the user model's ``masked_login``, which also masks an ID number login)."""
    if hasattr(user, "masked_login"):
        return user.masked_login()
    name = user.get_username() if hasattr(user, "get_username") else str(user or "")
    if len(name) == 11 and name.isdigit():
        return f"{name[:3]}****{name[-4:]}"
    return name


@register.filter
def get_item(mapping, key):
    """``{{ mapping|get_item:key }}``: a dict lookup by a variable key."""
    return mapping.get(key) if mapping else None


@register.filter
def cn_date(value) -> str:
    """``{{ day|cn_date }}``: 2027年3月4日, as certificates write dates, whatever the page's
    language (the same as ``date:"Y年n月j日"``, at a fiftieth of its cost on the lookup page).
    An aware datetime is shown in the portal's time zone; nothing, or what is not a date, shows
    as "" (as the date filter shows it)."""
    if not value:
        return ""
    if isinstance(value, datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    try:
        return f"{value.year}年{value.month}月{value.day}日"
    except AttributeError:
        return ""


# {% once %} -----------------------------------------------------------------------------

ONCE_MAX_VARIANTS = 64
_once_nodes: weakref.WeakSet = weakref.WeakSet()


@receiver(setting_changed)
def _forget_once(**kwargs) -> None:
    """A changed setting (tests override them) may change what a fragment shows."""
    for node in list(_once_nodes):
        node.rendered.clear()


class OnceNode(template.Node):
    """The markup between ``{% once %}`` and ``{% endonce %}``, rendered once per process,
    language and value of the variables named in the tag, then served as rendered.

    For the static parts of pages under load (the lookup page: SPEC 7): labels, help texts,
    links and navigation that read nothing of the request but the language and what the tag
    names. It may not hold a ``{% csrf_token %}`` or a ``{% block %}`` (a block in a base
    template is another page's content, a token another visitor's), and anything else it
    shows must be the same for every visitor whose values of the named variables match.
    Under DEBUG it renders every time, so that template edits show at once.
    """

    def __init__(self, nodelist: template.NodeList, vary: list):
        self.nodelist = nodelist
        self.vary = vary
        self.rendered: dict[tuple, str] = {}
        _once_nodes.add(self)

    def render(self, context) -> str:
        if settings.DEBUG:
            return self._render(context)
        key = (get_language(), *(variable.resolve(context) for variable in self.vary))
        html = self.rendered.get(key)
        if html is None:
            html = self._render(context)
            if len(self.rendered) >= ONCE_MAX_VARIANTS:
                self.rendered.clear()
            self.rendered[key] = html
        return html

    def _render(self, context) -> str:
        # The compile-time checks see only what is written in the fragment; the tokens are
        # also hidden from whatever it renders (an alias, a filter argument, a tag's own
        # template), so that using one fails on the first render, in tests too.
        with context.push(**{name: _NO_TOKEN for name in CSRF_VARIABLES}):
            return self.nodelist.render(context)


class _NoToken:
    """What ``csrf_token`` and ``csrf_input`` are inside ``{% once %}``: anything that would
    write them out raises."""

    def _refuse(self, *args):
        raise template.TemplateSyntaxError(
            "{% once %} cannot show a CSRF token: one visitor's token would be served to "
            "every visitor"
        )

    __str__ = __html__ = __iter__ = __len__ = __getitem__ = _refuse


_NO_TOKEN = _NoToken()


CSRF_VARIABLES = ("csrf_token", "csrf_input")


@register.tag("once")
def do_once(parser, token) -> OnceNode:
    """``{% once [variable …] %}…{% endonce %}``: see :class:`OnceNode`."""
    vary = [parser.compile_filter(bit) for bit in token.split_contents()[1:]]
    nodelist = parser.parse(("endonce",))
    parser.delete_first_token()
    # An included template is not seen here, so it could hold a token unchecked.
    for forbidden in (CsrfTokenNode, BlockNode, OnceNode, IncludeNode):
        if nodelist.get_nodes_by_type(forbidden):
            raise template.TemplateSyntaxError(
                f"{{% once %}} cannot hold a {forbidden.__name__}: it would be served to "
                "every visitor and every page alike"
            )
    for node in nodelist.get_nodes_by_type(VariableNode):
        variable = node.filter_expression.var
        if isinstance(variable, Variable) and variable.var.split(".")[0] in CSRF_VARIABLES:
            raise template.TemplateSyntaxError(
                f"{{% once %}} cannot hold {{{{ {variable.var} }}}}: one visitor's token "
                "would be served to every visitor"
            )
    return OnceNode(nodelist, vary)
