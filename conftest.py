"""Project-wide pytest setup: reference data, a private MEDIA_ROOT, actors, service gates."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.core.management import call_command

from certportal import roles
from certportal.roles import sync_roles
from exams.models import Authority, Institution
from tests.factories import staff_factory, user_factory
from tests.security.logscan import RunLog

# Fixtures shared across test packages (exam workflow, certificates).
pytest_plugins = ["tests.exams.fixtures", "tests.certificates.fixtures", "tests.renewals.fixtures"]

QUANZHOU = 350500
NINGBO = 330200

# In CI every test that needs a real service (PostgreSQL, Redis, a browser, a CLI tool) must
# run: this turns "skip, service missing" into a failure.
REQUIRE_SERVICES = os.environ.get("CERTPORTAL_REQUIRE_SERVICES", "").lower() in {"1", "true", "yes"}


def need(condition: bool, what: str) -> None:
    """Skip the test when ``what`` is missing, or fail when CI requires every service."""
    if condition:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing (CERTPORTAL_REQUIRE_SERVICES is set): {what}")
    pytest.skip(f"service missing: {what}")


RUN_LOG = RunLog(Path(__file__).resolve().parent / "test-artifacts" / "test-run.log")


def pytest_sessionstart(session):
    RUN_LOG.start()
    _instrument_jinja2()


def _instrument_jinja2() -> None:
    """Make the Jinja2 pages (certportal/jinja.py) show in the test client's
    ``response.templates``, as Django's test setup does for its own templates."""
    from django.template.backends import jinja2 as backend
    from django.test.signals import template_rendered

    render = backend.Template.render

    def instrumented(self, context=None, request=None):
        # Before rendering, as Django's own: the page comes before the forms drawn inside it.
        template_rendered.send(sender=self, template=self.template, context=context or {})
        return render(self, context, request)

    backend.Template.render = instrumented


def pytest_sessionfinish(session, exitstatus):
    """The whole run's logs hold no ID number: a leak fails the run, naming the files."""
    RUN_LOG.stop()
    if not session.items:
        return
    basetemp = session.config._tmp_path_factory.getbasetemp()
    leaks = RUN_LOG.leaks(sorted(basetemp.rglob("*.log")))
    if leaks:
        lines = [f"  {path}: {len(numbers)} ID number(s)" for path, numbers in leaks.items()]
        session.config.get_terminal_writer().line(
            "\nFAILED: ID numbers in clear in the logs of this run:\n" + "\n".join(lines),
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        call_command("loaddata", *settings.REFERENCE_FIXTURES, verbosity=0)


@pytest.fixture(scope="session", autouse=True)
def _no_counters_from_an_earlier_run():
    """The rate limits' counters live in the cache (Redis when REDIS_URL is set) for their
    window, up to a day: a second run of the suite within it found its addresses already over
    their limits (429 on a first lookup). Each run starts without the portal's cache keys,
    and only those (Celery's keys in the same database are not the cache's)."""
    config = settings.CACHES["default"]
    if not config["BACKEND"].endswith("RedisCache"):
        return
    import redis

    server = redis.Redis.from_url(config["LOCATION"])
    if server.connection_pool.connection_kwargs.get("db", 0) == 0:
        # Database 0 is where `make run` keeps a developer's portal: its cache is left be
        # (CI and the commands in the README give the tests a database of their own).
        server.close()
        return
    try:
        keys = list(server.scan_iter(match=f"{config.get('KEY_PREFIX', '')}:*", count=1000))
        for start in range(0, len(keys), 1000):
            server.delete(*keys[start : start + 1000])
    finally:
        server.close()


@pytest.fixture(autouse=True)
def _reference_data_for_transactional_tests(request, django_db_blocker):
    """Transactional tests (run last by pytest-django) flush every table when they end; the
    next one gets the roles and reference data back here."""
    marker = request.node.get_closest_marker("django_db")
    transactional = "live_server" in request.fixturenames or (
        marker is not None and marker.kwargs.get("transaction", False)
    )
    if transactional:
        from exams.models import Trade

        with django_db_blocker.unblock():
            if not Trade.objects.exists():
                sync_roles(django_apps)
                call_command("loaddata", *settings.REFERENCE_FIXTURES, verbosity=0)


@pytest.fixture(autouse=True)
def _failed_logins_do_not_add_up(settings):
    """Every test logs in from 127.0.0.1, and the per-address count of failed logins lives in
    the cache (Redis in CI) for the cool-off time: the whole suite's failures would add up to
    the address's budget. Tests of that budget set their own, at addresses of their own."""
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 1_000_000


@pytest.fixture
def steady_login_window(monkeypatch, settings):
    """For tests of the per-address login budget: the throttle's clock held in the middle of
    the current cool-off window. The budget is counted per fixed window, and with the real
    clock a test whose failed logins ran across a window's end (CI saw it once, four failures
    either side of 12:15:00) found its count started again and no refusal."""
    import math
    import time

    from applicants import throttle

    window = settings.AXES_COOLOFF_TIME.total_seconds()
    held = math.floor(time.time() / window) * window + window / 2
    monkeypatch.setattr(throttle, "clock", lambda: held)
    return held


@pytest.fixture(autouse=True)
def private_media_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def quanzhou(db) -> Authority:
    return Authority.objects.get(pk=QUANZHOU)


@pytest.fixture
def ningbo(db) -> Authority:
    return Authority.objects.get(pk=NINGBO)


@pytest.fixture
def applicant(db):
    return user_factory(role=roles.APPLICANT, username="13900000001")


@pytest.fixture
def other_applicant(db):
    return user_factory(role=roles.APPLICANT, username="13900000002")


@pytest.fixture
def institution_staff(db):
    return staff_factory(institution=Institution.objects.get(name="泉州市住建行业中介服务中心"))


@pytest.fixture
def other_institution_staff(db):
    return staff_factory(institution=Institution.objects.get(name="宁波示例建设工程考核中心"))


@pytest.fixture
def authority_staff(quanzhou):
    return staff_factory(authority=quanzhou)


@pytest.fixture
def other_authority_staff(ningbo):
    return staff_factory(authority=ningbo)


@pytest.fixture
def superuser(db):
    return user_factory(role=roles.SUPERUSER, is_staff=True, is_superuser=True)


@pytest.fixture(autouse=True)
def _tasks_run_eagerly_outside_integration_tests(request):
    """Unit and browser tests run tasks in-process even when REDIS_URL is set (as in CI);
    tests marked ``integration`` send them through the real broker to a real worker."""
    from certportal.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = request.node.get_closest_marker("integration") is None
    yield
    app.conf.task_always_eager = previous
