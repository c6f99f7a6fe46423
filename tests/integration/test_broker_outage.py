"""Issuance while the broker is down commits and answers success; the sweep renders later."""

import pytest
from django.core.management import call_command

from certificates.models import Certificate
from certificates.services import certificate_issue
from certportal.celery import app


def _reset_producer_pool():
    # The producer pool keeps connections to the old broker URL; a fresh one uses the new URL.
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def broker_down():
    """Tasks go to a broker on a port where nothing listens."""
    saved = app.conf.broker_url, app.conf.task_always_eager
    app.conf.task_always_eager = False
    app.conf.broker_url = "redis://127.0.0.1:9/0"
    _reset_producer_pool()
    yield
    app.conf.broker_url, app.conf.task_always_eager = saved
    _reset_producer_pool()


@pytest.mark.django_db
def test_issuance_with_the_broker_down_commits_and_the_sweep_renders_later(
    passed, authority_staff, broker_down, django_capture_on_commit_callbacks, caplog
):
    with django_capture_on_commit_callbacks(execute=True):
        certificate = certificate_issue(application=passed, actor=authority_staff)
    certificate.refresh_from_db()
    assert Certificate.objects.filter(pk=certificate.pk).exists()
    assert not certificate.pdf and certificate.pdf_version < certificate.content_version
    assert "not enqueued" in caplog.text

    app.conf.task_always_eager = True  # the broker is back (here: tasks run in-process)
    call_command("render_pending", verbosity=0)
    certificate.refresh_from_db()
    assert certificate.pdf and certificate.pdf_version == certificate.content_version
