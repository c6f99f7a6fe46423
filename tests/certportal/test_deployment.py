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
def config():
    result = compose_config(COMPOSE_ENV)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


@pytest.fixture(scope="module")
def services(config):
    return config["services"]


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


def test_gunicorn_runs_sync_workers_one_per_core_plus_one(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    cfg = gunicorn_settings(monkeypatch)
    assert cfg.worker_class_str == "sync"
    assert cfg.workers == len(os.sched_getaffinity(0)) + 1
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
    assert gunicorn_settings(monkeypatch, WEB_CONCURRENCY="7").workers == 7


def test_compose_sets_the_web_workers_within_the_database_connections(services):
    """Each worker holds a PostgreSQL connection: compose fixes their number (a CPU quota is
    not what the container's core count shows), and the operator can change it."""
    assert services["web"]["environment"]["WEB_CONCURRENCY"] == "3"
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


# Read from the environment by the settings, but fixed by the image or by compose itself.
SET_BY_THE_SHAPE = {"DEBUG", "DATABASE_URL", "REDIS_URL", "MEDIA_ROOT", "STATIC_ROOT"}


def test_every_setting_the_operator_may_give_reaches_the_containers(services):
    """Compose lists the environment explicitly: a variable the settings read but compose
    leaves out is silently its default in production (TRUSTED_PROXY_* were: every client
    then shared the proxy's address, one rate limit and one login lockout for the country)."""
    import re

    read = set(re.findall(r'env\.\w+\("([A-Z_]+)"', (ROOT / "certportal/settings.py").read_text()))
    assert {"SITE_URL", "TRUSTED_PROXY_COUNT", "VERIFY_RATE_LIMIT"} <= read
    for name in ("web", "worker", "beat", "migrate"):
        missing = read - SET_BY_THE_SHAPE - set(services[name]["environment"])
        assert not missing, (name, sorted(missing))


def test_the_proxy_is_believed_from_the_compose_networks_gateway_only(config):
    import ipaddress

    environment = config["services"]["web"]["environment"]
    assert environment["TRUSTED_PROXY_COUNT"] == "1"
    (subnet,) = [entry["subnet"] for entry in config["networks"]["default"]["ipam"]["config"]]
    network = ipaddress.ip_network(subnet)
    trusted = ipaddress.ip_network(environment["TRUSTED_PROXY_NETWORKS"])
    assert trusted.num_addresses == 1 and trusted.network_address == next(network.hosts())


def test_every_start_adds_reference_rows_without_overwriting_them(services):
    command = " ".join(services["migrate"]["command"])
    assert "load_reference" in command and "loaddata" not in command


def test_the_image_never_carries_the_env_file():
    """Compose reads secrets from an .env file beside it, in the build context: without this
    the image would carry the keys that decrypt every ID number."""
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".env" in ignored and ".env.*" in ignored


def test_the_health_check_asks_the_path_answered_before_the_host_check(services):
    from urllib.parse import urlsplit

    from certportal.middleware import HealthCheckMiddleware

    check = " ".join(services["web"]["healthcheck"]["test"])
    (url,) = [word for word in check.replace("'", " ").split() if "://" in word]
    assert urlsplit(url).path == HealthCheckMiddleware.PATH


def test_the_image_collects_static_files_under_production_settings():
    """collectstatic runs at build time with DEBUG off, so with every setting production
    refuses to start without (a missing one failed the image's build)."""
    import re

    dockerfile = (ROOT / "Dockerfile").read_text()
    step = next(s for s in dockerfile.split("\nRUN ") if "collectstatic" in s)
    assert "DEBUG=false" in step
    given = set(re.findall(r"\b([A-Z_]+)=", step))
    assert {"SECRET_KEY", "PII_ENCRYPTION_KEYS", "PII_INDEX_KEY", "SITE_URL"} <= given
    site_url = re.search(r"SITE_URL=(\S+)", step).group(1)
    assert site_url.startswith("https://") and "." in site_url
