"""Counters in the cache that expire with their window: the public lookups' rate limits
(verification.ratelimit) and the failed logins per address (applicants.throttle) share them.

A fixed window is one key per (what is counted, window start), incremented atomically and left
to expire: no background job, and one round trip to Redis per count.
"""

from __future__ import annotations

import os
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

_local = threading.local()


def _redis_count(location: str):
    """The counting script, on a client of this thread's own with one connection kept open
    (``single_connection_client``): a per-thread client takes no connection from a pool and
    gives none back for each count, which cost a quarter of the count's client CPU
    (``benchmarks/lookup_cpu.py``). redis-py loads the script again after a Redis restart, as
    with a pooled client. A pool would notice that the server had closed an idle connection
    (a restart, an idle timeout) before lending it; a kept connection finds out by failing,
    so a count that fails on a broken connection reconnects and is sent once more (when the
    connection broke after Redis counted, that address is counted twice: stricter by one,
    never looser).

    Per thread, so no lock is shared between threads; per process too, keyed by its id: a
    forked child never writes on its parent's socket."""
    scripts = getattr(_local, "scripts", None)
    pid = os.getpid()
    if scripts is None or _local.pid != pid:
        scripts = _local.scripts = {}
        _local.pid = pid
    script = scripts.get(location)
    if script is None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # Retried once on a broken connection only: not on a timeout, which would wait as
        # long again and count twice what Redis may well have counted.
        client = redis.Redis.from_url(
            location,
            single_connection_client=True,
            retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
        )
        script = scripts[location] = client.register_script(_COUNT)
    return script
