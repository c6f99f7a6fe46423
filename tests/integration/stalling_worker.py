"""The product's Celery app with one change, for the worker-death tests: the worker stalls once.

``celery -A tests.integration.stalling_worker worker`` runs the real tasks. The first time it
reaches the point named by ``STALL_AT`` for the ``STALL_ON``-th time, it writes its process id
to the file ``STALL_MARKER`` and sleeps there, so the test can SIGKILL it at exactly that
point. Once the marker exists it never stalls again (a pool process started in place of a
killed one runs normally).

Points:
- ``pdf-write``: half-way through writing an e-certificate PDF (the render's row lock held,
  half the bytes written);
- ``issue``: inside an issuance transaction, right after certificate rows are inserted
  (serials taken, nothing committed).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from celery.signals import task_prerun

from certportal.celery import app

__all__ = ["app"]

_reached = 0


def _stall_here() -> None:
    global _reached
    marker = Path(os.environ["STALL_MARKER"])
    if marker.exists():
        return
    _reached += 1
    if _reached < int(os.environ.get("STALL_ON", "1")):
        return
    marker.write_text(str(os.getpid()))
    time.sleep(600)


def _stalling_content_file():
    from django.core.files.base import ContentFile

    class StallingContentFile(ContentFile):
        def chunks(self, chunk_size=None):
            self.seek(0)
            data = self.read()
            yield data[: len(data) // 2]
            _stall_here()
            yield data[len(data) // 2 :]

    return StallingContentFile


def _stall_after_certificate_insert(execute, sql, params, many, context):
    result = execute(sql, params, many, context)
    if sql.startswith('INSERT INTO "certificates_certificate"'):
        _stall_here()
    return result


@task_prerun.connect
def _install_stall(**_kwargs) -> None:
    from django.db import connection

    from certificates.services import rendering

    point = os.environ["STALL_AT"]
    if point == "pdf-write" and rendering.ContentFile.__name__ != "StallingContentFile":
        rendering.ContentFile = _stalling_content_file()
    elif point == "issue" and _stall_after_certificate_insert not in connection.execute_wrappers:
        connection.execute_wrappers.append(_stall_after_certificate_insert)
