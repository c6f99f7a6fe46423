"""A Celery worker killed mid-task loses nothing and issues nothing twice (SPEC 7).

Each test issues a session's passed candidates through a real worker on a Redis of its own,
makes the worker stall at a chosen point (tests/integration/stalling_worker.py), SIGKILLs it
there and checks what a person would: every certificate has its e-certificate, one PDF per
version, numbers without repeats or gaps, and no truncated file under a real name.
"""

from __future__ import annotations

import hashlib
import os
import signal
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db.models import F

from certificates.models import BatchIssue, Certificate, CertificatePdf
from certificates.services import batch_issue_start
from certportal.models import AuditEvent
from tests.integration.conftest import PASSED_CANDIDATES, WorkerProcess, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CANDIDATES = PASSED_CANDIDATES
STALLING = "tests.integration.stalling_worker"
# The production shape: a main process that takes and acknowledges messages, and a pool
# process that runs the task. (The solo pool runs a task inside the main loop and acknowledges
# only after it, whatever acks_late says: it would hide a missing acks_late.)
ONE_PROCESS = ("--pool", "prefork", "--concurrency", "1")
# The restarted worker hands out again what the killed one held unacknowledged this long.
VISIBILITY_TIMEOUT = 1
# A batch's run holds it under a lease this long (production: five minutes), so that the
# restarted worker may take over the killed run's batch within the test.
BATCH_LEASE = {"BATCH_ISSUE_LEASE_SECONDS": str(VISIBILITY_TIMEOUT)}
QUICK_REDELIVERY = {"CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT), **BATCH_LEASE}


def stall_env(tmp_path: Path, at: str, on: int) -> dict[str, str]:
    return {
        "STALL_AT": at,
        "STALL_ON": str(on),
        "STALL_MARKER": str(tmp_path / f"stalled-{uuid.uuid4().hex}"),
    }


def stalled_pid(env: dict[str, str], worker: WorkerProcess) -> int:
    marker = Path(env["STALL_MARKER"])
    assert wait_for(marker.exists), "the worker never stalled:\n" + worker.output()[-3000:]
    return int(marker.read_text())


def kill_whole_worker(worker: WorkerProcess, pool_process: int) -> None:
    """SIGKILL the worker and its pool process, as a lost machine or a ``kill -9`` of its
    container would; then let the visibility timeout pass."""
    worker.kill()
    os.kill(pool_process, signal.SIGKILL)
    time.sleep(VISIBILITY_TIMEOUT + 0.5)


def all_rendered() -> bool:
    return (
        Certificate.objects.count() == CANDIDATES
        and not Certificate.objects.filter(pdf_version__lt=F("content_version")).exists()
    )


def assert_nothing_lost_nothing_twice(*logs: WorkerProcess) -> None:
    tail = "\n".join(worker.output()[-2000:] for worker in logs)
    assert wait_for(all_rendered), tail
    certificates = list(Certificate.objects.order_by("number"))
    assert len(certificates) == CANDIDATES
    assert len({c.application_id for c in certificates}) == CANDIDATES
    assert [c.number[-6:] for c in certificates] == [f"{n:06d}" for n in range(1, 1 + CANDIDATES)]
    assert AuditEvent.objects.filter(action="certificates.certificate.issued").count() == CANDIDATES
    pdfs = list(CertificatePdf.objects.order_by("certificate_id", "version"))
    assert [(p.certificate_id, p.version) for p in pdfs] == [(c.pk, 1) for c in certificates]
    assert all(c.pdf.name == p.file.name for c, p in zip(certificates, pdfs, strict=True))
    assert_only_whole_pdfs_visible(pdfs)


def assert_only_whole_pdfs_visible(pdfs) -> None:
    """Every file under a real name is a whole PDF, and every row points to its own bytes;
    whatever the killed worker was writing is at most a hidden ``.partial-`` file. (A file it
    finished before being killed may stay behind unused, whole: its row was rolled back.)"""
    directory = Path(settings.MEDIA_ROOT) / "certificates" / "pdf"
    for path in directory.iterdir():
        if path.name.startswith("."):
            continue
        data = path.read_bytes()
        whole = data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
        assert whole, f"a truncated file under a real name: {path.name} ({len(data)} bytes)"
    for pdf in pdfs:
        data = (directory / Path(pdf.file.name).name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == pdf.sha256


def test_worker_killed_mid_render_loses_nothing(workers, passed_session, authority_staff, tmp_path):
    env = stall_env(tmp_path, "pdf-write", on=2)
    first = workers.start("stalling", *ONE_PROCESS, app=STALLING, env=env)
    batch_issue_start(session=passed_session, actor=authority_staff)
    pool_process = stalled_pid(env, first)
    assert Certificate.objects.count() == CANDIDATES
    assert Certificate.objects.filter(pdf_version__lt=F("content_version")).count() > 1

    kill_whole_worker(first, pool_process)
    second = workers.start("restarted", *ONE_PROCESS, env=QUICK_REDELIVERY)
    assert_nothing_lost_nothing_twice(first, second)


def test_pool_process_killed_mid_render_is_rendered_by_the_same_worker(
    workers, passed_session, authority_staff, tmp_path
):
    env = stall_env(tmp_path, "pdf-write", on=2)
    worker = workers.start("stalling", *ONE_PROCESS, app=STALLING, env=env)
    batch_issue_start(session=passed_session, actor=authority_staff)
    pool_process = stalled_pid(env, worker)
    assert pool_process != worker.process.pid

    os.kill(pool_process, signal.SIGKILL)
    assert_nothing_lost_nothing_twice(worker)
    assert "WorkerLostError" in worker.output()


def test_worker_killed_mid_batch_issues_each_candidate_once(
    workers, passed_session, authority_staff, tmp_path
):
    env = stall_env(tmp_path, "issue", on=1)
    first = workers.start("stalling", *ONE_PROCESS, app=STALLING, env={**env, **BATCH_LEASE})
    batch = batch_issue_start(session=passed_session, actor=authority_staff)
    pool_process = stalled_pid(env, first)
    assert not Certificate.objects.exists()  # inserted, not committed
    batch.refresh_from_db()
    assert batch.status == BatchIssue.Status.RUNNING and batch.lease_token  # the dead run's

    kill_whole_worker(first, pool_process)
    second = workers.start("restarted", *ONE_PROCESS, env=QUICK_REDELIVERY)
    assert_nothing_lost_nothing_twice(first, second)
    assert wait_for(lambda: BatchIssue.objects.get(pk=batch.pk).status == "done")
    batch.refresh_from_db()
    assert batch.done == CANDIDATES and batch.lease_token is None
    assert all(result["ok"] for result in batch.results)
    assert AuditEvent.objects.filter(action="certificates.batch.finished").count() == 1
