"""Per-address rate limits for the public lookups: a fixed-window counter in the cache.

Every public lookup (the forms, the certificate-number lookup, the QR page, the API, upload to
verify) counts against one budget per client address, ``settings.VERIFY_RATE_LIMIT`` (``N/s``,
``N/m`` or ``N/h``). The preview image counts against a second budget of the same size, so that
opening a QR page (the page and its image) costs one lookup, while a flood of image requests
is still refused.

The counter lives in Django's cache: Redis when ``REDIS_URL`` is set, shared by every web
process and container; local memory otherwise (per process, good enough on one machine). A
fixed window is one key per (bucket, address, window start), incremented atomically and left to
expire: no background job, no new dependency, and one round trip to Redis per request.

The client address is ``certportal.client.client_address``: ``REMOTE_ADDR``, or behind
``TRUSTED_PROXY_COUNT`` reverse proxies the address the outermost of them saw. What a client
writes into ``X-Forwarded-For`` itself is never believed: nobody chooses their own bucket. An
IPv6 address is counted by its /64 (``certportal.client.subscriber``): one subscriber holds a
whole /64 and would otherwise have a fresh bucket at every address.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse

from certportal.client import client_address, subscriber
from certportal.counters import clock, count_in_window

_RATE = re.compile(r"^\s*(\d+)\s*/\s*([smh])\s*$")
_PERIODS = {"s": 1, "m": 60, "h": 3600}


LOOKUP = "lookup"
PREVIEW = "preview"


def parse_rate(rate: str) -> tuple[int, int]:
    """``"20/m"`` → ``(20, 60)``: requests allowed per window, window length in seconds."""
    match = _RATE.match(rate or "")
    if match is None or int(match.group(1)) < 1:
        raise ImproperlyConfigured(
            f"VERIFY_RATE_LIMIT={rate!r}: expected N/s, N/m or N/h with N ≥ 1, e.g. 20/m"
        )
    return int(match.group(1)), _PERIODS[match.group(2)]


@dataclass(frozen=True)
class Verdict:
    """One counted request: whether it may proceed, and when the window opens again."""

    allowed: bool
    count: int
    limit: int
    retry_after: int  # whole seconds until the next window
    window_ends_at: float

    @property
    def first_refusal(self) -> bool:
        """The first refused request of a window: the one worth recording for the authority
        (recording every refusal would let a flood fill the lookup log)."""
        return self.count == self.limit + 1


def hit(request: HttpRequest, bucket: str = LOOKUP) -> Verdict:
    """Count one request of ``request``'s address against ``bucket``."""
    limit, window = parse_rate(settings.VERIFY_RATE_LIMIT)
    now = clock()
    start = math.floor(now / window) * window
    key = f"verify-rate:{bucket}:{subscriber(client_address(request))}:{start}"
    # The key outlives its window a little, so a slow request never resets a live counter.
    count = count_in_window(key, timeout=window + 5)
    ends = start + window
    return Verdict(
        allowed=count <= limit,
        count=count,
        limit=limit,
        retry_after=max(1, math.ceil(ends - now)),
        window_ends_at=ends,
    )


RefusalResponder = Callable[[HttpRequest, Verdict], HttpResponse]


def rate_limited(
    *,
    respond: RefusalResponder,
    bucket: str = LOOKUP,
    applies: Callable[[HttpRequest], bool] | None = None,
):
    """Decorate a view: refuse with ``respond(request, verdict)`` once the address is over its
    budget. ``applies(request)`` says whether this request is a lookup at all (showing an
    empty form is not); the verdict is left on ``request.rate_limit`` for the view.

    The refusal response always carries ``Retry-After``.
    """

    def decorate(view):
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs):
            if applies is not None and not applies(request):
                return view(request, *args, **kwargs)
            verdict = hit(request, bucket)
            request.rate_limit = verdict
            if not verdict.allowed:
                response = respond(request, verdict)
                response.status_code = 429
                response["Retry-After"] = str(verdict.retry_after)
                response["Cache-Control"] = "no-store"
                return response
            return view(request, *args, **kwargs)

        return wrapped

    return decorate
