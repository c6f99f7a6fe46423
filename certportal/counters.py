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
        return _redis_count(location)(cache.make_key(key), timeout)
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


class _Counter:
    """The counting script on a Redis client of this thread's own, with its one connection
    kept open (``single_connection_client``).

    A count is one ``EVALSHA`` written to that connection and its answer read back, through
    redis-py's own connection (its protocol encoder and hiredis parser), without the client's
    per-command machinery. Together with keeping the connection rather than borrowing one from
    a pool for each count, that took 60 → about 33 µs of client CPU from a count in a loop
    (inside a request a count costs about three times its figure in a loop); the short path
    alone gave 1–3 % more lookups a second under load (``benchmarks/lookup.py``).

    Whatever that short path cannot finish goes to redis-py's full call, which knows what to
    do: a script the server no longer has (a Redis restart, ``SCRIPT FLUSH``) is loaded
    again; a connection the server closed (a restart, an idle timeout) is opened again and the
    count sent once more (had Redis counted before the connection broke, the address is
    counted twice: stricter by one, never looser). A timeout is not sent again: it would wait
    as long again and count twice what Redis may well have counted.
    """

    def __init__(self, location: str):
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.client = redis.Redis.from_url(
            location,
            single_connection_client=True,
            retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
        )
        self.script = self.client.register_script(_COUNT)
        self._retry_in_full = (redis.ConnectionError, redis.exceptions.NoScriptError)
        self._timeout = redis.TimeoutError

    def __call__(self, key: str, timeout: int) -> int:
        connection = self.client.connection
        try:
            connection.send_packed_command(
                connection.pack_command("EVALSHA", self.script.sha, 1, key, timeout),
                check_health=False,
            )
            return connection.read_response()
        except self._timeout:
            connection.disconnect()  # its answer may still come: the connection is out of step
            raise
        except self._retry_in_full:
            pass
        return self.script(keys=[key], args=[timeout])


def _redis_count(location: str) -> _Counter:
    """This thread's counter for the Redis at ``location``.

    Per thread, so no lock is shared between threads; per process too, keyed by its id: a
    forked child never writes on its parent's socket."""
    counters = getattr(_local, "counters", None)
    pid = os.getpid()
    if counters is None or _local.pid != pid:
        counters = _local.counters = {}
        _local.pid = pid
    counter = counters.get(location)
    if counter is None:
        counter = counters[location] = _Counter(location)
    return counter
