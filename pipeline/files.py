"""The one way govpub writes a file: whole or not at all, and on disk when it returns.

The rule, for the core and for every channel (they reach it through
:mod:`channels.kit.files`):

1. the bytes go to a temporary name in the target's own folder (same file system,
   so the rename in step 3 is atomic; the name starts with a dot, so listings and
   servers skip it);
2. the temporary file is flushed and ``fsync``-ed: its bytes are on disk before any
   name points at them;
3. it is renamed over the target (``os.replace``): readers see the old file or the
   new one, never half of one; or, for a file that must be written once, linked to
   the target name, which fails if the name exists (``os.link``);
4. the folder is ``fsync``-ed, so the new name itself survives a crash: at once, or,
   for many files written in one piece of work (a render under
   :func:`channels.kit.files.folder_lock`, :func:`folder_syncs_deferred`), once per
   folder when that work ends, still before the channel reports it done.

A failure at any step removes the temporary file and raises ``OSError``.

Why always fsync, file and folder: a delivery is recorded as delivered as soon as the
channel returns, and the design says never to record a delivery as delivered when the
channel does not hold it; a page, feed or package that a power cut could still take
away would make that record a lie. The cost is measured by ``bench/website_render.py``;
deferring the folder's fsync to the end of a render saves one fsync per file written
into a folder already written to.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import BinaryIO

# Folders written to inside folder_syncs_deferred(), fsync-ed when it ends (None: at once).
_deferred: ContextVar[set[Path] | None] = ContextVar("deferred_folder_syncs", default=None)


@contextlib.contextmanager
def atomic_writer(path: Path, *, replace: bool = True) -> Iterator[BinaryIO]:
    """A binary file to write ``path``'s new content into, following the rule above.
    With ``replace=False`` an existing ``path`` is kept and ``FileExistsError`` raised
    (after the body ran: write-once records that several processes may race to make)."""
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{path.name}.{secrets.token_hex(6)}.partial"
    try:
        with open(partial, "xb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        if replace:
            os.replace(partial, path)
        else:
            os.link(partial, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    pending = _deferred.get()
    if pending is None:
        fsync_folder(folder)
    else:
        pending.add(folder)


def write_atomic(path: Path, data: bytes) -> Path:
    """Replace ``path`` with ``data`` (the rule above)."""
    with atomic_writer(path) as out:
        out.write(data)
    return path


@contextlib.contextmanager
def folder_syncs_deferred() -> Iterator[None]:
    """Within the block, each folder written to is fsync-ed once, when the block ends
    (however it ends: the files renamed so far are kept), rather than after every file."""
    pending: set[Path] = set()
    token = _deferred.set(pending)
    try:
        yield
    finally:
        _deferred.reset(token)
        for folder in sorted(pending):
            fsync_folder(folder)


def fsync_folder(folder: Path) -> None:
    """Make the names in ``folder`` durable (a rename, a new link)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
