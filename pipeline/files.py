"""Files that readers fetch while workers rewrite them (static feeds, pages).

Readers (nginx, ``govpub serve``) must never see half a file, and several worker
processes may regenerate the same file at once. So a file is written to a
temporary name in its own folder and renamed over the old one (``os.replace`` is
atomic on POSIX); bytes that did not change are not rewritten, so the file's
modification time (served as ``Last-Modified``) moves only when its content does;
and work that must not interleave runs under an exclusive lock of the folder.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.errors import TransientError


def write_if_changed(path: Path, data: bytes) -> bool:
    """Atomically replace ``path`` with ``data`` unless it already holds exactly that."""
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    try:
        with open(tmp, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return True


@contextmanager
def folder_lock(folder: Path, timeout: float) -> Iterator[None]:
    """An exclusive ``flock`` on ``folder/.lock``: it serialises writers across threads
    and processes of one machine (each ``open`` is its own lock holder). Gives up with
    a TransientError after ``timeout`` seconds, so the delivery is retried."""
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
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
