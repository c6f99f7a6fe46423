"""A database connection killed under a running web server (SPEC 7 reliability).

A real gunicorn in production mode keeps its PostgreSQL connection between requests
(CONN_MAX_AGE) and checks it before reuse (CONN_HEALTH_CHECKS). The test kills that
connection from PostgreSQL's side (``pg_terminate_backend``), as a database restart, a
failover or an idle-connection reaper would:

- between requests: the next request does not notice (the health check reconnects);
- in the middle of a request: that request gets the plain Chinese error page, never a
  traceback, and the request after it is answered normally.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import quote

import pytest
from cryptography.fernet import Fernet
from django.db import connection, transaction

from tests.integration.conftest import ROOT, test_database_url, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

APPLICATION_NAME = "certportal-web-under-test"
LOOKUP = "/verify/?" + "&".join(
    f"{key}={quote(value)}"
    for key, value in {"cert_no": "闽C052026999999", "name": "王小明"}.items()
)
ERROR_PAGE_TEXT = "系统暂时无法处理您的请求"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (loopback)
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture
def gunicorn(real_services, settings, tmp_path):
    """gunicorn with production settings (DEBUG off, keys of its own), one sync worker so that
    every request uses the same persistent connection; its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "PII_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "PII_INDEX_KEY": secrets.token_urlsafe(32),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SITE_URL": "https://certs.example.gov.cn",
        "SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": f"{test_database_url()}?application_name={APPLICATION_NAME}",
        "CONN_MAX_AGE": "600",
        "REDIS_URL": settings.REDIS_URL,
        "VERIFY_RATE_LIMIT": "1000/m",
        "STATIC_ROOT": str(tmp_path / "static"),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    log = (tmp_path / "gunicorn.log").open("wb")
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "certportal.wsgi:application"),
            *("--bind", f"127.0.0.1:{port}", "--workers", "1", "--timeout", "60"),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"

    def answering() -> bool:
        try:
            return get(base + LOOKUP)[0] == 200
        except OSError:
            return server.poll() is not None  # stop waiting for a server that died

    try:
        assert wait_for(answering, timeout=60) and server.poll() is None, (
            tmp_path / "gunicorn.log"
        ).read_text()[-3000:]
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def web_backends() -> list[tuple[int, str]]:
    """The web server's PostgreSQL backends: (pid, what it waits for)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, coalesce(wait_event_type, '') FROM pg_stat_activity"
            " WHERE application_name = %s",
            [APPLICATION_NAME],
        )
        return cursor.fetchall()


def terminate(pid: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert cursor.fetchone() == (True,)


def assert_answered(base: str) -> None:
    status, body = get(base + LOOKUP)
    assert status == 200 and ERROR_PAGE_TEXT not in body, body[:2000]


def test_connection_killed_between_requests_goes_unnoticed(gunicorn):
    assert_answered(gunicorn)
    ((pid, _waiting),) = web_backends()
    terminate(pid)
    assert wait_for(lambda: not web_backends(), timeout=10)

    assert_answered(gunicorn)
    assert len(web_backends()) == 1  # a fresh connection, kept for the next request


def test_connection_killed_mid_request_shows_the_error_page_then_recovers(gunicorn):
    assert_answered(gunicorn)
    answers: list[tuple[int, str]] = []
    with transaction.atomic():
        with connection.cursor() as cursor:
            # Hold the table the lookup reads, so the request waits inside the database.
            cursor.execute("LOCK TABLE certificates_certificate IN ACCESS EXCLUSIVE MODE")
        request = threading.Thread(target=lambda: answers.append(get(gunicorn + LOOKUP)))
        request.start()
        waiting = wait_for(
            lambda: [pid for pid, event in web_backends() if event == "Lock"], timeout=30
        )
        assert waiting, "the request never reached the database"
        terminate(waiting[0])
    request.join(timeout=60)

    ((status, body),) = answers
    assert status == 500
    assert ERROR_PAGE_TEXT in body and "请稍后刷新重试" in body
    for leak in ("Traceback", "OperationalError", "psycopg", "certificates_certificate"):
        assert leak not in body

    started = time.monotonic()
    assert_answered(gunicorn)
    assert time.monotonic() - started < 10
