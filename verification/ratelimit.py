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
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse

from certportal.client import client_address, subscriber

_RATE = re.compile(r"^\s*(\d+)\s*/\s*([smh])\s*$")
_PERIODS = {"s": 1, "m": 60, "h": 3600}

REDIS_CACHE = "django.core.cache.backends.redis.RedisCache"

LOOKUP = "lookup"
PREVIEW = "preview"


def clock() -> float:
    """The current time in seconds; tests replace it to step over a window without sleeping."""
    return time.time()


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


def count_in_window(key: str, timeout: int) -> int:
    """Add one to the counter ``key``, creating it with its expiry: one command to Redis.

    Django's cache API would need three round trips (``add``, then ``incr``, which first
    checks that the key exists) and a new client object for each, which cost more than the
    rest of a lookup's rate limiting. Here one short script (``_COUNT``) increments the key and
    gives a new one its expiry, atomically: a window's key always expires, even if the process
    dies mid-request, and it costs less client CPU than a two-command pipeline
    (``benchmarks/lookup_cpu.py``). The key and its value are the ones the cache itself would
    use (Django's Redis cache stores integers as they are), so ``cache.clear()`` still resets
    every window.
    """
    config = settings.CACHES["default"]
    location = config.get("LOCATION")
    if config["BACKEND"] == REDIS_CACHE and isinstance(location, str) and "," not in location:
        return _redis_count(location)(keys=[cache.make_key(key)], args=[timeout])
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:
        # Evicted between add and incr (a full local-memory cache): start the window again.
        cache.set(key, 1, timeout=timeout)
        return 1


# INCR, and EXPIRE when the INCR made the key: run by the server as one command.
_COUNT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""

_clients: dict[str, object] = {}
_clients_lock = threading.Lock()


def _redis_count(location: str):
    """The counting script, on one client (and connection pool) per process and Redis URL;
    thread-safe. (redis-py runs it by its digest, and loads it again after a Redis restart.)

    Made under a lock: threads racing at first use would each make a client, and every client
    but the one kept is dropped at once, closing its pool under the request still using it
    (a burst on a fresh threaded process answered 500s)."""
    script = _clients.get(location)
    if script is None:
        with _clients_lock:
            script = _clients.get(location)
            if script is None:
                import redis

                client = redis.Redis.from_url(location)
                script = _clients[location] = client.register_script(_COUNT)
    return script


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
