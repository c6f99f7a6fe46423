"""The persistent connection's health check (certportal.postgresql): no round trip for a
healthy connection, a fresh connection for one the server has dropped."""

from __future__ import annotations

import select
import time

import psycopg
import pytest
from django.db import connection, connections

from conftest import need
from tests.integration.conftest import test_database_url

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def new_request() -> None:
    """What Django does when a request starts: the next cursor checks the connection."""
    connection.health_check_done = False


@pytest.fixture
def checked(monkeypatch):
    need(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    wrapper = connections["default"]
    wrapper.ensure_connection()
    monkeypatch.setattr(wrapper, "health_check_enabled", True)
    monkeypatch.setattr(wrapper, "checked_at", time.monotonic())  # as after a request
    queried = []
    monkeypatch.setattr(wrapper, "is_usable", lambda: queried.append(1) or True)
    return queried


def test_a_healthy_connection_is_kept_without_asking_the_server(checked):
    pid = backend_pid()
    raw = connection.connection
    for _ in range(3):
        new_request()
        assert backend_pid() == pid
    assert connection.connection is raw and checked == []


def test_a_connection_idle_for_a_while_is_asked_with_a_query(checked, monkeypatch):
    """A connection can die without a word reaching its socket: after QUIET_FOR seconds of
    rest only a round trip tells."""
    monkeypatch.setattr(connections["default"], "checked_at", time.monotonic() - 60)
    new_request()
    backend_pid()
    assert checked == [1]
    new_request()
    backend_pid()
    assert checked == [1]  # just used: the socket is enough again


def test_a_connection_the_server_dropped_is_replaced_before_the_request_uses_it(checked):
    pid = backend_pid()
    with psycopg.connect(test_database_url(), autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone() == (True,)
    # The server's goodbye reaches the socket.
    poller = select.poll()
    poller.register(connection.connection.fileno(), select.POLLIN)
    deadline = time.monotonic() + 10
    while not poller.poll(100) and time.monotonic() < deadline:
        pass

    new_request()
    assert backend_pid() != pid  # answered, on a new connection
    assert checked == []
