"""Django's PostgreSQL backend with a health check that costs no round trip under load.

``CONN_HEALTH_CHECKS`` makes Django check a persistent connection before each request reuses
it, with a ``SELECT 1``: a round trip to the server for every request the portal answers, as
dear as the public lookup's own statement (SPEC 7). A connection used moments ago is checked
by asking the operating system instead whether the server has said anything on it: a server
that restarts or terminates the backend (an idle reaper, ``pg_terminate_backend``) sends its
goodbye and closes the socket, which becomes readable; a healthy idle connection has nothing
to read. A readable socket, a closed or broken connection, or one left inside a transaction
is closed, and Django opens a fresh one for the request.

A connection that has sat idle longer than ``QUIET_FOR`` seconds still gets Django's own
``SELECT 1``: a connection can die without a word reaching the socket (a host crash, a
failover that moves the address, a NAT or firewall forgetting an idle flow), and only a round
trip finds that out. Under load every connection is reused within milliseconds, so the round
trip is paid only by connections that were idle anyway. (tests/integration/test_db_hiccup.py
kills the connection between requests and mid-request under a real gunicorn;
test_health_check.py checks both ways of checking.)

After an error inside a request, Django still checks with a query (``is_usable``), as before.
"""

from __future__ import annotations

import select
import time

import psycopg
from django.db.backends.postgresql import base
from psycopg.pq import TransactionStatus

# Seconds a connection may sit unused and still be checked without a round trip.
QUIET_FOR = 5.0


class DatabaseWrapper(base.DatabaseWrapper):
    checked_at: float = 0.0
    _kept: psycopg.Cursor | None = None

    def kept_cursor(self) -> psycopg.Cursor:
        """One psycopg cursor with server-side binding, kept for the open connection and made
        again when the connection is (``verification.selectors.run_hot``: the public lookups'
        statements). It is psycopg's own, not Django's wrapper: the caller connects first and
        raises database errors as Django's."""
        kept = self._kept
        if kept is None or kept.closed or kept.connection is not self.connection:
            kept = self._kept = psycopg.Cursor(self.connection)
        return kept

    def close_if_health_check_failed(self) -> None:
        if self.pool or self.connection is None:
            return
        if not self.health_check_enabled or self.health_check_done:
            return
        now = time.monotonic()
        recent = now - self.checked_at <= QUIET_FOR and hasattr(select, "poll")
        if not (self._idle_and_quiet() if recent else self.is_usable()):
            self.close()
        self.checked_at = now
        self.health_check_done = True

    def _idle_and_quiet(self) -> bool:
        connection = self.connection
        if connection.closed or connection.broken:
            return False
        if connection.info.transaction_status != TransactionStatus.IDLE:
            return False
        try:
            poller = select.poll()
            poller.register(connection.fileno(), select.POLLIN | select.POLLPRI)
            return not poller.poll(0)
        except (OSError, ValueError):
            return False
