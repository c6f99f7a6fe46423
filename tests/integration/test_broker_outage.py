"""Issuance while the broker is down commits and answers success; the sweep renders later."""

import pytest
from django.core.management import call_command

from certificates.models import Certificate
from certificates.services import certificate_issue
from certportal.celery import app


@pytest.fixture
def broker_down():
    """Tasks go to a broker on a port where nothing listens. The app's connection pools are
    set aside (not closed: later tests use them) and fresh ones made for the dead URL."""
    saved = (app.conf.broker_url, app.conf.task_always_eager, app._pool, app.amqp._producer_pool)
    app.conf.task_always_eager = False
    app.conf.broker_url = "redis://127.0.0.1:9/0"
    app._pool = None
    app.amqp._producer_pool = None
    yield
    if app._pool is not None:
        app._pool.force_close_all()
    app.conf.broker_url, app.conf.task_always_eager, app._pool, app.amqp._producer_pool = saved


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
