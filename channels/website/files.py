"""Writing the site folder safely.

Readers (nginx, ``govpub serve``) must never see half a page, and several
worker processes render into one folder: every file is written to a temporary
name in the same directory and renamed over the old one (``os.replace`` is
atomic on POSIX), files whose bytes did not change are left alone (so a rebuild
touches only what really changed), and index rebuilds run under one lock per site.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import re
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.errors import TransientError

# Extensions an attachment keeps; anything else (html, svg, js …) could run as active
# content from the site's origin, so it is downloaded as ``.bin`` instead.
SAFE_EXTENSIONS = {
    "pdf", "ofd", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "wps", "et", "dps", "odt", "ods",
    "odp", "rtf", "txt", "csv", "zip", "rar", "7z", "jpg", "jpeg", "png", "gif", "bmp", "tif",
    "tiff", "webp", "mp3", "mp4",
}  # fmt: skip
MAX_NAME = 80


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


def remove(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def safe_name(position: int, name: str) -> str:
    """A file name that is safe on disk and in a URL, still recognisable: ``01-方案.pdf``.

    Directory parts, control characters and anything but letters (CJK included),
    digits, ``.``, ``-`` and ``_`` are dropped or replaced; leading dots go; the
    position prefix keeps names unique within an item and never empty."""
    base = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = re.sub(r"[^\w.-]+", "_", stem, flags=re.UNICODE).strip("._-")[:MAX_NAME] or "file"
    ext = ext.lower() if ext.lower() in SAFE_EXTENSIONS else "bin"
    return f"{position:02d}-{stem}.{ext}"


def content_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@contextmanager
def site_lock(folder: Path, timeout: float) -> Iterator[None]:
    """An exclusive ``flock`` on ``folder/.lock``; it serialises index rebuilds across
    threads and processes on one machine (each ``open`` is its own lock holder).
    Gives up with a TransientError after ``timeout`` seconds, so the delivery retries."""
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
                    raise TransientError(f"site folder {folder} stayed locked for {timeout}s") from exc
                time.sleep(0.02)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
