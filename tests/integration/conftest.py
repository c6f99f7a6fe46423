"""Real services: PostgreSQL, Redis and a Celery worker started by the test."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

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

    def start(self, *extra: str) -> WorkerProcess:
        env = {
            **os.environ,
            "DEBUG": "true",
            "DATABASE_URL": test_database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        }
        self.log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "certportal",
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

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def celery_worker_process(real_services, tmp_path):
    """Start with ``celery_worker_process.start()``; stopped at the end of the test."""
    worker = WorkerProcess(f"test-{uuid.uuid4().hex[:12]}", tmp_path / "worker.log")
    yield worker
    worker.stop()
