"""File storage whose files appear whole or not at all.

Django's ``FileSystemStorage`` streams content straight into the final name, so a process
killed mid-write (a worker killed while rendering a PDF, a container stopped during an upload)
leaves a truncated file under a real name for backups, copies and anyone listing the
directory. Here the bytes go to a hidden temporary file in the same directory, are flushed to
disk, and are then renamed into place: a rename within one file system is atomic. A crash
leaves at most a ``.partial-*`` file, never a half-written one under a real name, and
:func:`remove_abandoned_partials` (a daily task) deletes those a crash left behind.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time

from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage

PARTIAL_PREFIX = ".partial-"
# A write lasts seconds; a partial file untouched this long was abandoned by a crash.
ABANDONED_AFTER_S = 6 * 3600

logger = logging.getLogger(__name__)


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


def remove_abandoned_partials(
    root: str | os.PathLike, *, older_than_s: float = ABANDONED_AFTER_S
) -> int:
    """Delete the ``.partial-*`` files under ``root`` not written to for ``older_than_s``
    seconds (a process killed mid-write leaves one; a write in progress is never that old).
    Nothing else is touched. Returns how many were deleted."""
    cutoff = time.time() - older_than_s
    removed = 0
    for directory, _subdirectories, files in os.walk(root):
        for name in files:
            if not name.startswith(PARTIAL_PREFIX):
                continue
            path = os.path.join(directory, name)
            try:
                if os.lstat(path).st_mtime < cutoff:
                    os.unlink(path)
                    removed += 1
            except FileNotFoundError:
                continue  # finished (renamed) or removed meanwhile
    if removed:
        logger.info("removed %d abandoned partial file(s) under %s", removed, root)
    return removed


def copy_stored_file(source: str, target: str) -> str:
    """A copy of a stored file under the fresh name ``target``; returns the name stored.

    On a local file system it is a hard link: a stored upload is never rewritten (replacing a
    material writes a new file and deletes the old name), so a link is a copy that outlives
    the original's name without writing the bytes again. Elsewhere the bytes are copied
    through the storage."""
    try:
        source_path, target_path = default_storage.path(source), default_storage.path(target)
    except NotImplementedError:  # a storage without local paths
        source_path = target_path = None
    if source_path is not None:
        try:
            os.makedirs(os.path.dirname(target_path), exist_ok=True)
            os.link(source_path, target_path)
            return target
        except OSError:  # another device, or links not supported: copy instead
            pass
    with default_storage.open(source, "rb") as content:
        return default_storage.save(target, ContentFile(content.read()))


def delete_stored_files(names) -> None:
    """Delete stored files by name, logging (not raising) what cannot be deleted: for files
    a failed or finished transaction leaves behind."""
    for name in names:
        if not name:
            continue
        try:
            default_storage.delete(name)
        except OSError:
            logger.warning("could not delete stored file %s", name)
