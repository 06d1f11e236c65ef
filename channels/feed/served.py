"""Feed files as ``govpub serve`` answers them: bytes, a strong ETag, Last-Modified.

The ETag is a hash of the bytes, so every server that holds the same file gives the
same ETag; Last-Modified is the file's modification time, which moves only when its
bytes change (files are rewritten only then). A file is read and hashed once per
version: the cache is keyed by inode, size and modification time, and an atomic
replace always brings a new inode.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO


@dataclass(frozen=True)
class Served:
    body: bytes
    etag: str
    modified: datetime


class ServedFiles:
    def __init__(self) -> None:
        self._cache: dict[Path, tuple[tuple[int, int, int], Served]] = {}

    def read(self, path: Path) -> Served | None:
        try:
            with open(path, "rb") as handle:
                return self._version(path, handle)
        except FileNotFoundError:
            return None

    def _version(self, path: Path, handle: BinaryIO) -> Served:
        stat = os.fstat(handle.fileno())
        version = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        hit = self._cache.get(path)
        if hit is not None and hit[0] == version:
            return hit[1]
        body = handle.read()
        served = Served(
            body=body,
            etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"',
            modified=datetime.fromtimestamp(stat.st_mtime, UTC).replace(microsecond=0),
        )
        self._cache[path] = (version, served)
        return served
