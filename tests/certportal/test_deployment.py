"""docker-compose.yml is the production shape; no Docker engine runs here, so validate it."""

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands

from conftest import need

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_ENV = {
    "POSTGRES_PASSWORD": "x",
    "SECRET_KEY": "x",
    "PII_ENCRYPTION_KEYS": "x",
    "PII_INDEX_KEY": "x",
    "ALLOWED_HOSTS": "certs.example.gov.cn",
    "SITE_URL": "https://certs.example.gov.cn",
}


def compose_config(env: dict[str, str]) -> subprocess.CompletedProcess:
    executable = shutil.which("docker-compose")
    need(executable is not None, "docker-compose (Debian package docker-compose)")
    base = {k: v for k, v in os.environ.items() if k not in COMPOSE_ENV}
    return subprocess.run(
        [executable, "-f", str(ROOT / "docker-compose.yml"), "config"],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def services():
    result = compose_config(COMPOSE_ENV)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)["services"]


def test_compose_has_the_production_services(services):
    assert {"db", "redis", "web", "worker", "beat"} <= set(services)
    assert services["web"]["environment"]["DEBUG"] == "false"
    assert services["web"]["environment"]["REDIS_URL"].startswith("redis://redis:")


def test_compose_refuses_to_render_without_secrets():
    env = dict(COMPOSE_ENV)
    del env["SECRET_KEY"]
    result = compose_config(env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def _module_exists(dotted: str) -> bool:
    return importlib.util.find_spec(dotted) is not None


def test_every_service_command_names_something_in_the_project(services):
    commands = get_commands()
    for name, service in services.items():
        command = service.get("command")
        if name in {"db", "redis"}:
            continue
        words = " ".join(command if isinstance(command, list) else [command]).split()
        if words[0] == "gunicorn":
            module, _, attribute = words[1].partition(":")
            assert _module_exists(module), name
            assert hasattr(importlib.import_module(module), attribute), name
        elif words[0] == "celery":
            app = words[words.index("-A") + 1]
            assert (ROOT / app / "celery.py").is_file(), name
            assert words[words.index("-A") + 2] in {"worker", "beat"}, name
        else:
            managed = [words[i + 1] for i, w in enumerate(words) if w == "manage.py"]
            assert managed, f"{name}: unknown command {command}"
            for management_command in managed:
                assert management_command in commands, (name, management_command)
            for fixture in ("reference", "institutions"):
                if fixture in words:
                    assert (ROOT / "fixtures" / f"{fixture}.json").is_file()


def test_dockerfile_installs_the_cjk_fonts_and_locked_dependencies():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in ("fonts-arphic-uming", "fonts-wqy-microhei", "fonts-hanazono"):
        assert package in dockerfile
    assert "-c constraints.txt" in dockerfile


def gunicorn_settings(monkeypatch, **environ):
    """What gunicorn makes of gunicorn.conf.py (read as gunicorn reads it) in ``environ``."""
    from gunicorn.app.base import Application

    for name, value in environ.items():
        monkeypatch.setenv(name, value)

    class Probe(Application):
        def init(self, parser, opts, args):
            return None

        def load(self):
            return None

        def load_config(self):
            self.load_config_from_file(str(ROOT / "gunicorn.conf.py"))

    return Probe().cfg


def test_gunicorn_runs_sync_workers_two_per_core_plus_one(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    cfg = gunicorn_settings(monkeypatch)
    assert cfg.worker_class_str == "sync"
    assert cfg.workers == 2 * len(os.sched_getaffinity(0)) + 1
    assert cfg.bind == ["0.0.0.0:8000"]


def test_the_access_log_keeps_names_and_numbers_out(monkeypatch, tmp_path):
    """A lookup by certificate number carries the number and the holder's name in its query,
    and the answer page is the next request's Referer: the access line (written by gunicorn's
    own logger, as configured) has the path, the status and the time, not them."""
    from datetime import timedelta
    from types import SimpleNamespace

    from gunicorn.glogging import Logger

    cfg = gunicorn_settings(monkeypatch)
    cfg.set("accesslog", str(tmp_path / "access.log"))
    query = "cert_no=%E9%97%BDC052026000001&name=%E7%8E%8B%E5%B0%8F%E6%98%8E"
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/verify/?{query}",
        "PATH_INFO": "/verify/",
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.9",
        "HTTP_REFERER": f"https://cert.example.cn/verify/?{query}",
        "HTTP_USER_AGENT": "Mozilla/5.0 (Linux; Android 14)",
    }
    response = SimpleNamespace(status="200 OK", sent=5120, headers=[])
    request = SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"])])
    Logger(cfg).access(response, request, environ, timedelta(milliseconds=12))
    line = (tmp_path / "access.log").read_text(encoding="utf-8")
    assert '"GET /verify/ HTTP/1.1" 200 5120 12ms' in line and "203.0.113.9" in line
    assert "C052026000001" not in line and "E7%8E%8B" not in line and "cert_no" not in line


def test_web_concurrency_sets_the_number_of_workers(monkeypatch):
    assert gunicorn_settings(monkeypatch, WEB_CONCURRENCY="3").workers == 3


def test_compose_sets_the_web_workers_within_the_database_connections(services):
    """Each worker holds a PostgreSQL connection: compose fixes their number (a CPU quota is
    not what the container's core count shows), and the operator can change it."""
    assert services["web"]["environment"]["WEB_CONCURRENCY"] == "5"
    assert services["web"]["environment"]["DEBUG"] == "false"  # the shared settings kept


def test_the_container_and_compose_leave_workers_to_gunicorn_conf(services):
    """A --workers or --bind on the command line would override gunicorn.conf.py and make the
    deployment differ from what benchmarks/lookup.py measures."""
    command = " ".join(services["web"]["command"])
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = next(line for line in dockerfile.splitlines() if line.startswith("CMD"))
    for text in (command, cmd):
        assert "gunicorn" in text
        for option in ("--workers", "-w ", "--bind", "-b ", "--worker-class", "-k ", "--threads"):
            assert option not in text, text
