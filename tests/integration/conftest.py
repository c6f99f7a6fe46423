"""Real services: PostgreSQL, Redis and a Celery worker started by the test."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from certportal.celery import app as celery_app
from conftest import need

ROOT = Path(__file__).resolve().parents[2]


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


@pytest.fixture
def real_services():
    """PostgreSQL and Redis, as configured by DATABASE_URL and REDIS_URL."""
    need(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    need(bool(settings.REDIS_URL), "Redis (set REDIS_URL)")
    need(redis_answers(settings.REDIS_URL), f"Redis answering at {settings.REDIS_URL}")


def test_database_url() -> str:
    """A URL to the database the tests run on (test_…), for processes the test starts."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"])
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{credentials}@{host}/{db['NAME']}"


test_database_url.__test__ = False


class WorkerProcess:
    """A real `celery worker` process on its own queue, against the test database."""

    def __init__(self, queue: str, log_path: Path):
        self.queue = queue
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(
        self, *extra: str, app: str = "certportal", env: dict[str, str] | None = None
    ) -> WorkerProcess:
        """``app``: the Celery app module (a test may wrap the product's); ``env``: more
        environment for this worker only."""
        env = {
            **os.environ,
            "DEBUG": "true",
            "DATABASE_URL": test_database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            **(env or {}),
        }
        self.log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                app,
                "worker",
                "--queues",
                self.queue,
                "--hostname",
                f"{self.queue}@%h",
                "--loglevel",
                "INFO",
                "--without-mingle",
                "--without-gossip",
                *extra,
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        return self

    def kill(self) -> None:
        """SIGKILL the worker's main process: no warm shutdown, nothing acknowledged or
        handed back (its pool processes are left to exit on their own)."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=20)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if not self.log.closed:
            self.log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def celery_worker_process(real_services, tmp_path):
    """Start with ``celery_worker_process.start()``; stopped at the end of the test."""
    worker = WorkerProcess(f"test-{uuid.uuid4().hex[:12]}", tmp_path / "worker.log")
    yield worker
    worker.stop()


def wait_for(predicate, timeout: float = 90.0, interval: float = 0.2):
    """Poll ``predicate`` until it answers truthy or ``timeout`` seconds pass; its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    return predicate()


class RedisServer:
    """A redis-server of the test's own on a free port, to stop and start at will (the shared
    Redis is never stopped). Nothing is persisted: a stop loses every queued message."""

    def __init__(self, directory: Path):
        self.directory = directory
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--daemonize", "no"),
                *("--dir", str(self.directory)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while not redis_answers(self.url):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"redis-server on port {self.port} did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


@pytest.fixture
def private_redis(real_services, tmp_path):
    """A started RedisServer of this test's own; stopped at the end."""
    need(shutil.which("redis-server") is not None, "redis-server (Debian package redis-server)")
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@contextmanager
def tasks_sent_to(url: str, settings):
    """This process sends tasks to the Redis at ``url`` (not run eagerly) and keeps results
    there, as the product does with one Redis for both; workers started meanwhile use it too.
    The app's connection pools and result backend are set aside, not closed (later tests use
    them), and fresh ones made for ``url``."""
    conf, local = celery_app.conf, celery_app._local
    saved = (
        conf.broker_url,
        conf.result_backend,
        conf.task_always_eager,
        celery_app._pool,
        celery_app.amqp._producer_pool,
        celery_app._backend_cache,
        getattr(local, "backend", None),
    )
    conf.broker_url = conf.result_backend = url
    conf.task_always_eager = False
    celery_app._pool = celery_app.amqp._producer_pool = celery_app._backend_cache = None
    local.backend = None
    settings.REDIS_URL = url
    try:
        yield
    finally:
        if celery_app._pool is not None:
            celery_app._pool.force_close_all()
        (
            conf.broker_url,
            conf.result_backend,
            conf.task_always_eager,
            celery_app._pool,
            celery_app.amqp._producer_pool,
            celery_app._backend_cache,
            local.backend,
        ) = saved


@pytest.fixture
def workers(private_redis, tmp_path, settings):
    """Start workers with ``workers.start(name, *args, app=…, env=…)`` on the test's own Redis,
    to which this process sends its tasks meanwhile. They take the queue ``celery``, where the
    product's tasks send the tasks they start. All stopped at the end."""
    started: list[WorkerProcess] = []

    class Workers:
        def start(self, name: str, *args: str, **kwargs) -> WorkerProcess:
            worker = WorkerProcess("celery", tmp_path / f"{name}.log")
            started.append(worker.start("--hostname", f"{name}@%h", *args, **kwargs))
            return worker

    with tasks_sent_to(private_redis.url, settings):
        yield Workers()
        for worker in started:
            worker.stop()


PASSED_CANDIDATES = 4


@pytest.fixture
def passed_session(session, issuer_credit_code, assessor, authority_staff):
    """A session whose scores are published with PASSED_CANDIDATES passed candidates."""
    from exams import services as exam_services
    from tests.exams.fixtures import bulk_scheduled, hold

    candidates = bulk_scheduled(session, PASSED_CANDIDATES)
    hold(session)
    for application, _id_number in candidates:
        exam_services.score_record(
            application=application, actor=assessor, theory=Decimal(90), practical=Decimal(90)
        )
    return exam_services.session_publish_scores(session=session, actor=authority_staff)
