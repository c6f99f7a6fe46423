"""Failed logins counted per client address, apart from django-axes' count per account.

django-axes locks an account after ``LOGIN_FAILURE_LIMIT`` failed logins, from any address.
Counting the address against that same small limit would let five typos (or anyone) shut a
whole training institution's office, a site's Wi-Fi or a carrier's shared address out of
every account for the cool-off time. So an address has its own, larger budget,
``LOGIN_ADDRESS_FAILURE_LIMIT`` failures per ``LOGIN_COOLOFF_MINUTES``, counted in the cache
(Redis in production, shared by every process) as the public lookups' limits are; once it is
spent, logins from that address are refused with a page that says so, blaming nobody's
password. A success does not reset it: logging into one's own account must not buy new tries
at others'.
"""

from __future__ import annotations

import math

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from certportal.client import client_subscriber
from certportal.counters import clock, count_in_window

LOGIN_PATHS = ("/accounts/login/", "/admin/login/")


def _window() -> tuple[int, float]:
    window = int(settings.AXES_COOLOFF_TIME.total_seconds())
    return window, math.floor(clock() / window) * window


def _key(request: HttpRequest, start: float) -> str | None:
    address = client_subscriber(request)
    return f"login-failures:{address}:{start}" if address else None


def record_failure(sender, credentials=None, request=None, **kwargs) -> None:
    """``user_login_failed`` receiver: one more failure for the request's address."""
    if request is None:
        return
    window, start = _window()
    key = _key(request, start)
    if key:
        count_in_window(key, timeout=window + 5)


def address_refused(request: HttpRequest) -> int | None:
    """Seconds until the address may try again, or None while it is under its budget."""
    window, start = _window()
    key = _key(request, start)
    if key is None:
        return None
    failures = cache.get(key) or 0
    if int(failures) < settings.LOGIN_ADDRESS_FAILURE_LIMIT:
        return None
    return max(1, math.ceil(start + window - clock()))


class LoginAddressThrottleMiddleware:
    """Refuses a login POST from an address past its budget, before any password is checked
    (and so before django-axes counts it against the account)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path_info in LOGIN_PATHS:
            wait = address_refused(request)
            if wait is not None:
                response = render(
                    request,
                    "accounts/locked_address.html",
                    {"minutes": math.ceil(wait / 60)},
                    status=429,
                )
                response["Retry-After"] = str(wait)
                return response
        return self.get_response(request)
