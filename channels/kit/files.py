"""Files that readers fetch while workers rewrite them (static pages, feeds, packages
dropped into a receiver's folder).

Every write here goes through the core's one atomic write (:mod:`pipeline.files`:
temporary name, fsync, rename, fsync of the folder), so readers (nginx, ``govpub
serve``, an archive's import job) never see half a file and a file is on disk when the
channel reports it delivered. On top of it:

- :func:`write_if_changed`: bytes that did not change are not rewritten, so a file's
  modification time (served as ``Last-Modified``) moves only when its content does;
- :func:`copy_into`: a whole file into a folder under its own name (a drop folder,
  often a network mount);
- :func:`folder_lock`: work that must not interleave across processes of one machine
  (regenerating the same index) runs under an exclusive lock of the folder; the
  folders it writes to are fsync-ed once each when the lock is released, rather than
  after every file (:func:`pipeline.files.folder_syncs_deferred`).
"""

from __future__ import annotations

import errno
import fcntl
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.errors import TransientError
from pipeline.files import atomic_writer, folder_syncs_deferred, write_atomic

__all__ = ["atomic_writer", "copy_into", "folder_lock", "write_atomic", "write_if_changed"]


def write_if_changed(path: Path, data: bytes) -> bool:
    """Atomically replace ``path`` with ``data`` unless it already holds exactly that."""
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    write_atomic(path, data)
    return True


def copy_into(source: Path, folder: Path) -> Path:
    """Copy ``source`` into ``folder`` under the same name, atomically and durably."""
    target = folder / source.name
    with open(source, "rb") as src, atomic_writer(target) as out:
        shutil.copyfileobj(src, out, 1 << 20)
    return target


@contextmanager
def folder_lock(folder: Path, timeout: float) -> Iterator[None]:
    """An exclusive ``flock`` on ``folder/.lock``: it serialises writers across threads
    and processes of one machine (each ``open`` is its own lock holder). Gives up with
    a TransientError after ``timeout`` seconds, so the delivery is retried. The folders
    written to under the lock are fsync-ed before it is released."""
    folder.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    with open(folder / ".lock", "a+b") as handle:
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() > deadline:
                    raise TransientError(f"folder {folder} stayed locked for {timeout}s") from exc
                time.sleep(0.02)
        try:
            with folder_syncs_deferred():
                yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
