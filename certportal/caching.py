"""``never_cache``: Django's decorator, with its headers written out.

Every public lookup answers under ``never_cache`` (a lookup's answer is of its moment, and a
page may carry what was typed), up to 1,200 times a second (SPEC 7). Django's decorator
builds the same two headers for every response by parsing and re-joining ``Cache-Control``
and formatting ``Expires`` anew: 12 µs a response, about 1 % of a lookup page. Here the
``Cache-Control`` value is a constant and ``Expires`` is formatted once a second; a response
that already carries either header is left to Django's own function, which merges.
``tests/certportal/test_caching.py`` holds the two to the same headers.
"""

from __future__ import annotations

import time
from functools import wraps

from django.utils.cache import add_never_cache_headers
from django.utils.http import http_date

# What add_never_cache_headers writes on a response without Cache-Control.
NEVER_CACHE = "max-age=0, no-cache, no-store, must-revalidate, private"

_expires: tuple[int, str] = (0, "")


def _now_http_date() -> str:
    """``http_date()`` of the current second (formatted once a second per process)."""
    global _expires
    second = int(time.time())
    kept = _expires
    if kept[0] != second:
        kept = _expires = (second, http_date(second))
    return kept[1]


def add_headers(response) -> None:
    if response.has_header("Cache-Control") or response.has_header("Expires"):
        add_never_cache_headers(response)
        return
    response.headers["Expires"] = _now_http_date()
    response.headers["Cache-Control"] = NEVER_CACHE


def never_cache(view_func):
    """Mark a view's responses as never to be cached, as Django's ``never_cache`` does (for
    synchronous views, which are all the portal has)."""

    @wraps(view_func)
    def wrapped(request, *args, **kwargs):
        response = view_func(request, *args, **kwargs)
        add_headers(response)
        return response

    return wrapped
