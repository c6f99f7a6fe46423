"""Django's PostgreSQL backend with a health check that costs no round trip.

``CONN_HEALTH_CHECKS`` makes Django check a persistent connection before each request reuses
it, with a ``SELECT 1``: a round trip to the server for every request the portal answers, as
dear as the public lookup's own statement (SPEC 7). This backend asks the operating system
instead whether the server has said anything on the idle connection: a server that restarts,
fails over, or terminates the backend (an idle reaper, ``pg_terminate_backend``) sends its
goodbye and closes the socket, which becomes readable; a healthy idle connection has nothing
to read. A readable socket, a closed or broken connection, or one left inside a transaction
is closed, and Django opens a fresh one for the request (tests/integration/test_db_hiccup.py
kills the connection between requests and mid-request under a real gunicorn).

After an error inside a request, Django still checks with a query (``is_usable``), as before.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from psycopg.pq import TransactionStatus


class DatabaseWrapper(base.DatabaseWrapper):
    def close_if_health_check_failed(self) -> None:
        if self.pool or self.connection is None:
            return
        if not self.health_check_enabled or self.health_check_done:
            return
        if not self._idle_and_quiet():
            self.close()
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
