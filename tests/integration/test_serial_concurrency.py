"""8 threads × 50 issuances of serials for the same (prefix, trade, year) on PostgreSQL."""

import threading

import pytest
from django.db import connection, connections, transaction

from certificates.numbering import format_certificate_number, next_serial
from conftest import need

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_concurrent_serials_never_repeat():
    need(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    numbers: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def issue_fifty():
        try:
            start.wait()
            for _ in range(50):
                with transaction.atomic():
                    serial = next_serial(prefix="闽C", trade_code="04", year=2026)
                    number = format_certificate_number(
                        prefix="闽C", trade_code="04", year=2026, serial=serial
                    )
                with lock:
                    numbers.append(number)
        except BaseException as exc:  # reported below, with the thread's failure
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=issue_fifty) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(numbers) == 400
    assert len(set(numbers)) == 400
    assert sorted(numbers)[-1] == "闽C042026000400"
