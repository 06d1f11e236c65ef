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
4. the folder is ``fsync``-ed, so the new name itself survives a crash.

A failure at any step removes the temporary file and raises ``OSError``.

Why always fsync, file and folder: a delivery is recorded as delivered as soon as the
channel returns, and the design says never to record a delivery as delivered when the
channel does not hold it; a page, feed or package that a power cut could still take
away would make that record a lie. The cost is measured by ``bench/website_render.py``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


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
    fsync_folder(folder)


def write_atomic(path: Path, data: bytes) -> Path:
    """Replace ``path`` with ``data`` (the rule above)."""
    with atomic_writer(path) as out:
        out.write(data)
    return path


def fsync_folder(folder: Path) -> None:
    """Make the names in ``folder`` durable (a rename, a new link)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
