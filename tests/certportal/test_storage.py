"""Files appear whole or not at all, and what a crashed write leaves behind is swept away."""

from __future__ import annotations

import os
import time

from django.conf import settings
from django.core.files.base import ContentFile

from certportal.celery import app as celery_app
from certportal.storage import PARTIAL_PREFIX, AtomicFileSystemStorage
from certportal.tasks import remove_abandoned_partials

DAY = 24 * 3600


def aged(path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_a_saved_file_leaves_no_partial_file(tmp_path):
    storage = AtomicFileSystemStorage(location=tmp_path)
    name = storage.save("tickets/a.pdf", ContentFile(b"%PDF-1.4 whole"))
    assert (tmp_path / name).read_bytes() == b"%PDF-1.4 whole"
    assert [p.name for p in (tmp_path / "tickets").iterdir()] == ["a.pdf"]


def test_the_sweep_removes_only_partial_files_a_crash_abandoned(tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path)
    (tmp_path / "certificates" / "2026").mkdir(parents=True)
    abandoned = tmp_path / "certificates" / "2026" / f"{PARTIAL_PREFIX}k3j2"
    writing = tmp_path / "certificates" / f"{PARTIAL_PREFIX}x9q1"  # a write in progress
    issued = tmp_path / "certificates" / "2026" / "cert.pdf"
    at_the_root = tmp_path / f"{PARTIAL_PREFIX}a1b2"  # abandoned at the top level
    for path in (abandoned, writing, issued, at_the_root):
        path.write_bytes(b"data")
    aged(abandoned, DAY)
    aged(issued, 400 * DAY)  # old real files stay, whatever their age
    aged(at_the_root, DAY)

    assert remove_abandoned_partials.apply(throw=True).get() == 2
    assert not abandoned.exists() and not at_the_root.exists()
    assert writing.exists() and issued.exists()
    assert remove_abandoned_partials.apply(throw=True).get() == 0


def test_the_sweep_runs_daily():
    entry = settings.CELERY_BEAT_SCHEDULE["remove-abandoned-partial-files"]
    assert entry["task"] in celery_app.tasks
