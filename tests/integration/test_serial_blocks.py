"""Batches reserve blocks of serials while single issuances take one: on PostgreSQL, 8 threads
mixing both never get the same serial twice and leave no gap."""

import random
import threading

import pytest
from django.db import connection, connections, transaction

from certificates.numbering import reserve_serials
from conftest import need

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_concurrent_blocks_and_single_serials_never_overlap():
    need(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    taken: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def reserve(seed: int) -> None:
        rng = random.Random(seed)
        try:
            start.wait()
            for _ in range(30):
                count = rng.choice((1, 1, 7, 25))
                with transaction.atomic():
                    first = reserve_serials(prefix="闽C", trade_code="05", year=2026, count=count)
                with lock:
                    taken.extend(range(first, first + count))
        except BaseException as exc:  # reported below, with the thread's failure
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=reserve, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(taken) == len(set(taken))
    assert sorted(taken) == list(range(1, len(taken) + 1))
