import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]


def run_django(code: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "SITE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
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
    "SITE_URL": "https://certs.example.gov.cn",
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
        f"r = c.post('/i18n/setlang/', {{'language': 'en'}}, secure=True, {host}); "
        "print(r.headers.get('Strict-Transport-Security')); "
        f"r2 = c.get('/verify/', {host}); print(r2.status_code, r2.headers.get('Location'))",
        DEBUG="false",
        DATABASE_URL="sqlite:///:memory:",
        **PRODUCTION_KEYS,
    )
    lines = result.stdout.split("\n")
    assert "max-age=31536000" in lines[0] and "includeSubDomains" in lines[0], result.stderr
    assert lines[1].startswith("301 https://certs.example.gov.cn/verify/"), result.stderr


@pytest.mark.parametrize(
    "site_url",
    [
        None,  # the development default, http://127.0.0.1:8000
        "http://certs.example.gov.cn",
        "https://localhost:8443",
        "https://127.0.0.1",
        "https://192.168.1.20",
        "https://certportal",
    ],
)
def test_production_refuses_a_site_url_a_phone_cannot_open(site_url):
    """QR codes are made from SITE_URL and printed for years: production does not start on
    an address an inspector's phone cannot open over HTTPS."""
    keys = {k: v for k, v in PRODUCTION_KEYS.items() if k != "SITE_URL"}
    if site_url:
        keys["SITE_URL"] = site_url
    result = run_django("pass", DEBUG="false", **keys)
    assert result.returncode != 0
    assert "SITE_URL" in result.stderr and "https" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("VERIFY_RATE_LIMIT", "20/min", "VERIFY_RATE_LIMIT='20/min'"),
        ("PII_ENCRYPTION_KEYS", "notakey", "PII_ENCRYPTION_KEYS"),
        ("CERT_FONT_PATH", "/nonexistent/font.ttf", "CERT_FONT_PATH='/nonexistent/font.ttf'"),
        ("CERT_FONT_PATH", __file__, "不是 TrueType/OpenType 字体文件"),
    ],
)
def test_a_malformed_setting_stops_the_start_not_the_requests(variable, value, message):
    """Values read only when first used are checked as Django sets up (gunicorn, Celery and
    manage.py all do): before, the process started and every lookup or profile save failed."""
    result = run_django("pass", DEBUG="false", **{**PRODUCTION_KEYS, variable: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr or "FontConfigurationError" in result.stderr
    assert message in result.stderr


def test_production_refuses_smtp_mail_from_localhost():
    result = run_django(
        "pass", DEBUG="false", EMAIL_URL="smtp://mail.example.gov.cn:25", **PRODUCTION_KEYS
    )
    assert result.returncode != 0 and "DEFAULT_FROM_EMAIL" in result.stderr
    result = run_django(
        "pass",
        DEBUG="false",
        EMAIL_URL="smtp://mail.example.gov.cn:25",
        DEFAULT_FROM_EMAIL="建筑施工特种作业证书 <noreply@certs.example.gov.cn>",
        **PRODUCTION_KEYS,
    )
    assert result.returncode == 0, result.stderr


def test_health_check_answers_plain_http_at_the_containers_own_address():
    """The compose health check asks http://127.0.0.1:8000/healthz: not an allowed host, not
    HTTPS. It is answered (GET and HEAD, as monitors ask) where any other path is refused."""
    client = "from django.test import Client; c = Client(HTTP_HOST='127.0.0.1:8000'); "
    result = run_django(
        client + "print(c.get('/healthz').status_code, c.head('/healthz').status_code, "
        "c.get('/healthz').json()['database'], c.get('/verify/').status_code)",
        DEBUG="false",
        DATABASE_URL="sqlite:///:memory:",
        **PRODUCTION_KEYS,
    )
    assert result.stdout.split() == ["200", "200", "ok", "400"], result.stderr
