"""File storage whose files appear whole or not at all.

Django's ``FileSystemStorage`` streams content straight into the final name, so a process
killed mid-write (a worker killed while rendering a PDF, a container stopped during an upload)
leaves a truncated file under a real name for backups, copies and anyone listing the
directory. Here the bytes go to a hidden temporary file in the same directory, are flushed to
disk, and are then renamed into place: a rename within one file system is atomic. A crash
leaves at most a ``.partial-*`` file, never a half-written one under a real name.
"""

from __future__ import annotations

import os
import tempfile

from django.core.files.storage import FileSystemStorage

PARTIAL_PREFIX = ".partial-"


class _WrittenTemporaryFile:
    """Content already on disk: ``FileSystemStorage._save`` moves it instead of streaming."""

    def __init__(self, path: str):
        self.path = path

    def temporary_file_path(self) -> str:
        return self.path


class AtomicFileSystemStorage(FileSystemStorage):
    def _save(self, name, content):
        if hasattr(content, "temporary_file_path"):
            return super()._save(name, content)
        directory = os.path.dirname(self.path(name))
        os.makedirs(directory, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=PARTIAL_PREFIX)
        try:
            with os.fdopen(handle, "wb") as out:
                for chunk in content.chunks():
                    out.write(chunk if isinstance(chunk, bytes) else chunk.encode())
                out.flush()
                os.fsync(out.fileno())
            return super()._save(name, _WrittenTemporaryFile(temporary))
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
