"""A burst of public lookups from many addresses at once, on the Redis-backed limiter.

Each flooding address sends three times its budget from several threads at once, every
request claiming another client address in ``X-Forwarded-For`` (half of them the legitimate
user's). The limit holds per real address (``REMOTE_ADDR``): each flooder gets exactly its
budget answered and the rest refused in words with ``Retry-After``, one refusal recorded per
address; meanwhile a person at another address gets every answer.
"""

from __future__ import annotations

import gc
import json
import random
import threading
import time
from collections import Counter, defaultdict

import pytest
from django.db import connections
from django.test import Client

from conftest import need
from tests.integration.conftest import redis_answers
from verification import ratelimit
from verification.models import LookupOutcome, LookupRecord

pytestmark = pytest.mark.django_db(transaction=True)

LIMIT = 10
FLOODERS = [f"203.0.113.{n}" for n in range(1, 13)]
THREADS_PER_FLOODER = 3
REQUESTS_PER_THREAD = LIMIT  # three times the budget per address
PERSON = "198.51.100.7"
PERSON_LOOKUPS = LIMIT - 2


@pytest.fixture
def one_window(monkeypatch, settings):
    """The limiter's clock stopped inside one minute of its own (no boundary mid-burst, and
    no counter left by an earlier run), on the real Redis cache."""
    need(bool(settings.REDIS_URL), "Redis (set REDIS_URL)")
    need(redis_answers(settings.REDIS_URL), f"Redis answering at {settings.REDIS_URL}")
    assert "Redis" in settings.CACHES["default"]["BACKEND"]
    settings.VERIFY_RATE_LIMIT = f"{LIMIT}/m"
    start = 60 * random.randrange(34_000_000, 35_000_000)  # a window boundary, years ahead
    monkeypatch.setattr(ratelimit, "clock", lambda: start + 1.0)


def test_burst_from_many_addresses_is_limited_per_address_and_a_person_still_gets_answers(
    certificate, one_window
):
    answers: dict[str, list] = defaultdict(list)
    failures: list[tuple[str, BaseException]] = []
    lock = threading.Lock()
    go = threading.Barrier(len(FLOODERS) * THREADS_PER_FLOODER + 1)

    def flood(address: str) -> None:
        client = Client()
        try:
            go.wait()
            for n in range(REQUESTS_PER_THREAD):
                claimed = PERSON if n % 2 else f"192.0.2.{random.randrange(1, 255)}"
                response = client.get(
                    "/api/v1/verify",
                    {"cert_no": "闽C052026999999", "name": "王小明"},
                    REMOTE_ADDR=address,
                    HTTP_X_FORWARDED_FOR=claimed,
                    HTTP_X_REAL_IP=claimed,
                )
                with lock:
                    answers[address].append(response)
        except BaseException as exc:  # an error page raised by the test client
            failures.append((address, exc))
        finally:
            connections.close_all()

    def look_up() -> None:
        client = Client()
        try:
            go.wait()
            for _ in range(PERSON_LOOKUPS):
                response = client.get(
                    "/api/v1/verify",
                    {"cert_no": certificate.number, "name": certificate.holder_name},
                    REMOTE_ADDR=PERSON,
                )
                with lock:
                    answers[PERSON].append(response)
        except BaseException as exc:
            failures.append((PERSON, exc))
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=flood, args=(address,))
        for address in FLOODERS
        for _ in range(THREADS_PER_FLOODER)
    ]
    threads.append(threading.Thread(target=look_up))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert not failures, failures[:3]

    person = answers.pop(PERSON)
    assert [r.status_code for r in person] == [200] * PERSON_LOOKUPS
    assert all(json.loads(r.content)["found"] for r in person)

    for address, responses in answers.items():
        statuses = Counter(r.status_code for r in responses)
        sent = THREADS_PER_FLOODER * REQUESTS_PER_THREAD
        assert statuses == {200: LIMIT, 429: sent - LIMIT}, (address, statuses)
        for refused in (r for r in responses if r.status_code == 429):
            error = json.loads(refused.content)["error"]
            assert error["code"] == "rate_limited" and "查询过于频繁" in error["message"]
            assert refused["Retry-After"] == "59"
    assert len(answers) == len(FLOODERS)

    refusals = Counter(
        LookupRecord.objects.filter(outcome=LookupOutcome.RATE_LIMITED).values_list(
            "client_address", flat=True
        )
    )
    assert refusals == dict.fromkeys(FLOODERS, 1)


def test_a_fresh_process_under_a_burst_makes_one_redis_client_a_thread_and_fails_no_lookup(
    one_window, monkeypatch, rf
):
    """The first lookups of a new threaded web process each make their thread's Redis client
    at once. Each thread makes one and keeps it for its later counts, and none is dropped
    under another thread's lookup (a client dropped by the garbage collector closes its
    connection under whoever still uses it: an error page)."""
    import redis

    made = []
    from_url = redis.Redis.from_url

    def counted_from_url(*args, **kwargs):
        made.append(threading.get_ident())
        time.sleep(0.05)  # as slow as the first ``import redis`` of a fresh process
        return from_url(*args, **kwargs)

    from certportal import counters

    monkeypatch.setattr(counters, "_local", threading.local())
    monkeypatch.setattr(redis.Redis, "from_url", counted_from_url)
    addresses = [f"203.0.113.{n}" for n in range(100, 132)]
    counts: dict[str, list[int]] = defaultdict(list)
    failures: list[BaseException] = []
    go = threading.Barrier(len(addresses))

    def look_up(address: str) -> None:
        try:
            go.wait()
            for _ in range(3):
                counts[address].append(ratelimit.hit(rf.get("/", REMOTE_ADDR=address)).count)
                gc.collect()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=look_up, args=(address,)) for address in addresses]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures[:3]
    assert sorted(Counter(made).values()) == [1] * len(addresses)
    assert counts == {address: [1, 2, 3] for address in addresses}


def test_a_forked_process_counts_on_a_connection_of_its_own(one_window, monkeypatch, rf):
    """A web process forked from one that has counted already (gunicorn with a preloaded,
    warmed-up application) must not write on its parent's Redis socket: two processes
    interleaving on one connection read each other's answers."""
    import os

    from certportal import counters

    monkeypatch.setattr(counters, "_local", threading.local())
    location = counters.settings.CACHES["default"]["LOCATION"]
    request = rf.get("/", REMOTE_ADDR="203.0.113.40")
    assert ratelimit.hit(request).count == 1
    parent = counters._local.counters[location].client
    parent_id = parent.client_id()
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: count, then say on which Redis connection
        try:
            count = ratelimit.hit(request).count
            mine = counters._local.counters[location].client
            os.write(write, json.dumps([count, mine is parent, mine.client_id()]).encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    with os.fdopen(read) as answer:
        count, same_client, child_id = json.loads(answer.read())
    assert (count, same_client) == (2, False)
    assert child_id != parent_id
    # The parent's own connection is untouched and in step: its next answer is its own.
    assert ratelimit.hit(request).count == 3
    assert parent.client_id() == parent_id


def test_the_count_goes_on_after_redis_drops_the_connection_and_forgets_the_script(one_window, rf):
    """The kept connection is closed by the server (a Redis restart, an idle timeout) and the
    script is flushed: the next count reconnects, loads the script again and carries on."""
    import redis

    from certportal import counters

    location = counters.settings.CACHES["default"]["LOCATION"]
    request = rf.get("/", REMOTE_ADDR="203.0.113.41")
    assert ratelimit.hit(request).count == 1
    kept = counters._local.counters[location].client
    admin = redis.Redis.from_url(location)
    try:
        assert admin.client_kill_filter(_id=kept.client_id()) == 1
        admin.script_flush()
    finally:
        admin.close()
    assert [ratelimit.hit(request).count for _ in range(2)] == [2, 3]
    # The script alone forgotten (SCRIPT FLUSH): loaded again on the same connection, and the
    # request counted once.
    connection_id = kept.client_id()
    admin = redis.Redis.from_url(location)
    try:
        admin.script_flush()
    finally:
        admin.close()
    assert ratelimit.hit(request).count == 4
    assert kept.client_id() == connection_id


def test_a_count_that_times_out_is_not_sent_again(one_window, settings):
    """Redis takes the count and stalls (``CLIENT PAUSE``: overloaded, a network hiccup): the
    count fails after the socket's timeout, once. Sent again on a new connection, it would
    wait as long again and could count the request twice."""
    import redis

    from certportal import counters

    location = settings.CACHES["default"]["LOCATION"]
    key = f"test-timeout:{random.random()}"
    count = counters._redis_count(f"{location}?socket_timeout=0.3")  # connects now
    admin = redis.Redis.from_url(location)
    admin.ping()
    connections = admin.info("stats")["total_connections_received"]
    try:
        admin.client_pause(1000, all=False)  # writes (and scripts) wait; connecting does not
        with pytest.raises(redis.TimeoutError):
            count(key, 65)
        # No second connection was made to send the count again.
        assert admin.info("stats")["total_connections_received"] == connections
        admin.client_unpause()
        # The next count opens a fresh connection, in step: its answer is its own count.
        assert count(key, 65) in (1, 2)
    finally:
        admin.client_unpause()
        admin.delete(key)
        admin.close()
