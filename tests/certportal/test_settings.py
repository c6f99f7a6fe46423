import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]


def run_django(code: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env={"DJANGO_SETTINGS_MODULE": "certportal.settings", **environment},
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION_KEYS = {
    "SECRET_KEY": "p" * 30 + "-production-secret-of-enough-length",
    "PII_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "PII_INDEX_KEY": "production-blind-index-key-0123456789",
    "ALLOWED_HOSTS": "certs.example.gov.cn",
}


def test_production_refuses_to_start_with_development_keys():
    result = run_django("pass", DEBUG="false")
    assert result.returncode != 0
    for variable in ("SECRET_KEY", "PII_ENCRYPTION_KEYS", "PII_INDEX_KEY"):
        assert variable in result.stderr


def test_production_names_only_the_development_key_still_in_use():
    keys = dict(PRODUCTION_KEYS)
    del keys["PII_INDEX_KEY"]
    result = run_django("pass", DEBUG="false", **keys)
    assert result.returncode != 0
    assert "PII_INDEX_KEY" in result.stderr
    assert "PII_ENCRYPTION_KEYS (" not in result.stderr


def test_production_starts_with_real_keys_and_deploy_check_is_clean():
    result = run_django(
        "from django.core.management import call_command; "
        "call_command('check', deploy=True, fail_level='WARNING')",
        DEBUG="false",
        **PRODUCTION_KEYS,
    )
    assert result.returncode == 0, result.stderr


def test_healthz_answers_503_when_the_database_does_not_answer():
    result = run_django(
        "from django.test import Client; r = Client().get('/healthz'); "
        "print(r.status_code, r.json()['database'])",
        DEBUG="true",
        DATABASE_URL="postgres://nobody@127.0.0.1:9/none",
    )
    assert result.stdout.split() == ["503", "unavailable"], result.stderr


def test_production_sends_hsts_and_redirects_plain_http():
    host = "HTTP_HOST='certs.example.gov.cn'"
    result = run_django(
        "from django.test import Client; c = Client(); "
        f"r = c.get('/healthz', secure=True, {host}); "
        "print(r.headers.get('Strict-Transport-Security')); "
        f"r2 = c.get('/healthz', {host}); print(r2.status_code, r2.headers.get('Location'))",
        DEBUG="false",
        DATABASE_URL="sqlite:///:memory:",
        **PRODUCTION_KEYS,
    )
    lines = result.stdout.split("\n")
    assert "max-age=31536000" in lines[0] and "includeSubDomains" in lines[0], result.stderr
    assert lines[1].startswith("301 https://certs.example.gov.cn/healthz"), result.stderr
