"""Counters in the cache that expire with their window: the public lookups' rate limits
(verification.ratelimit) and the failed logins per address (applicants.throttle) share them.

A fixed window is one key per (what is counted, window start), incremented atomically and left
to expire: no background job, and one round trip to Redis per count.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings
from django.core.cache import cache

REDIS_CACHE = "django.core.cache.backends.redis.RedisCache"


def clock() -> float:
    """The current time in seconds; tests replace it to step over a window without sleeping."""
    return time.time()


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
