"""A BagIt bag (RFC 8493) written straight into one tar or zip file.

Payload files go under ``<package id>/data/``; ``manifest-sha256.txt``,
``manifest-sha512.txt`` and ``manifest-sm3.txt`` list them, ``tagmanifest-*.txt``
the tag files, ``bag-info.txt`` says who, what and when. Everything a re-export
could vary is fixed: entry order, timestamps (the period end), owners and modes,
so the same members give the same bytes.

The bag is streamed rather than made with ``bagit.make_bag``: that function
``chdir``s the whole process (unsafe beside the embedded worker's threads, whose
default database path is relative) and wants the payload on disk first. The
``bagit`` package validates what is written here, in the tests and in
``govpub archive verify``.

SM3 (GB/T 32905) comes from OpenSSL through ``hashlib`` where it offers it, else
from ``gmssl`` (pure Python: correct, about a thousand times slower).
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from datetime import datetime
from typing import Any, BinaryIO, Protocol

ALGORITHMS = ("sha256", "sha512", "sm3")
BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
FORBIDDEN_IN_PATHS = ("\r", "\n", "%", "\\")


class Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...

    def hexdigest(self) -> str: ...


class GmsslSm3:
    """SM3 from gmssl, which hashes whole messages only: collect, then hash."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def update(self, data: bytes, /) -> None:
        self.parts.append(bytes(data))

    def hexdigest(self) -> str:
        from gmssl import func, sm3

        return str(sm3.sm3_hash(func.bytes_to_list(b"".join(self.parts))))


def openssl_has_sm3() -> bool:
    try:
        hashlib.new("sm3")
    except ValueError:
        return False
    return True


HAS_OPENSSL_SM3 = openssl_has_sm3()


def new_hasher(algorithm: str) -> Hasher:
    if algorithm == "sm3" and not HAS_OPENSSL_SM3:
        return GmsslSm3()
    return hashlib.new(algorithm)


def digests(data: bytes) -> dict[str, str]:
    out = {}
    for alg in ALGORITHMS:
        hasher = new_hasher(alg)
        hasher.update(data)
        out[alg] = hasher.hexdigest()
    return out


class _Sink(Protocol):
    def add(self, name: str, data: bytes) -> None: ...

    def close(self) -> None: ...


class _TarSink:
    def __init__(self, out: BinaryIO, mtime: datetime) -> None:
        self.tar = tarfile.TarFile(fileobj=out, mode="w", format=tarfile.PAX_FORMAT)
        self.mtime = int(mtime.timestamp())

    def add(self, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = len(data), self.mtime, 0o644
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        self.tar.addfile(info, io.BytesIO(data))

    def close(self) -> None:
        self.tar.close()


class _ZipSink:
    def __init__(self, out: BinaryIO, mtime: datetime) -> None:
        self.zip = zipfile.ZipFile(out, mode="w", compression=zipfile.ZIP_DEFLATED)
        self.date_time = max(mtime.timetuple()[:6], (1980, 1, 1, 0, 0, 0))

    def add(self, name: str, data: bytes) -> None:
        info = zipfile.ZipInfo(name, date_time=self.date_time)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.create_system = 3
        info.external_attr = 0o100644 << 16
        self.zip.writestr(info, data)

    def close(self) -> None:
        self.zip.close()


class BagWriter:
    """Add payload files in a fixed order, then ``finish`` with the bag-info fields.

    ``mtime`` (aware) stamps every entry; zip entries carry it as the UTC wall time.
    """

    def __init__(self, out: BinaryIO, packing: str, root: str, mtime: datetime) -> None:
        self.root = root
        self.sink: _Sink = _TarSink(out, mtime) if packing == "tar" else _ZipSink(out, mtime)
        self.entries: dict[str, list[tuple[str, str]]] = {alg: [] for alg in ALGORITHMS}
        self.octets = 0
        self.files = 0
        self._tag("bagit.txt", BAGIT_TXT)

    def add(self, path: str, data: bytes) -> dict[str, str]:
        """One payload file at ``data/<path>``; returns its digests."""
        if any(ch in path for ch in FORBIDDEN_IN_PATHS) or path.startswith("/") or ".." in path.split("/"):
            raise ValueError(f"unsafe payload path {path!r}")
        found = digests(data)
        for alg, digest in found.items():
            self.entries[alg].append((f"data/{path}", digest))
        self.octets += len(data)
        self.files += 1
        self.sink.add(f"{self.root}/data/{path}", data)
        return found

    def finish(self, info: list[tuple[str, str]]) -> None:
        tags: dict[str, bytes] = {"bagit.txt": BAGIT_TXT}
        fields = [*info, ("Payload-Oxum", f"{self.octets}.{self.files}")]
        tags["bag-info.txt"] = "".join(f"{k}: {_one_line(v)}\n" for k, v in fields).encode("utf-8")
        for alg in ALGORITHMS:
            lines = sorted(self.entries[alg])
            tags[f"manifest-{alg}.txt"] = "".join(f"{d}  {p}\n" for p, d in lines).encode("utf-8")
        for name in ("bag-info.txt", *(f"manifest-{a}.txt" for a in ALGORITHMS)):
            self._tag(name, tags[name])
        for alg in ALGORITHMS:
            listed = sorted((name, digests_of(alg, data)) for name, data in tags.items())
            self._tag(f"tagmanifest-{alg}.txt", "".join(f"{d}  {n}\n" for n, d in listed).encode("utf-8"))
        self.sink.close()

    def _tag(self, name: str, data: bytes) -> None:
        self.sink.add(f"{self.root}/{name}", data)


def digests_of(algorithm: str, data: bytes) -> str:
    hasher = new_hasher(algorithm)
    hasher.update(data)
    return hasher.hexdigest()


def _one_line(value: Any) -> str:
    return " ".join(str(value).split())


def file_digests(path: Any) -> dict[str, str]:
    """Every algorithm's digest of one file, read once."""
    hashers = {alg: new_hasher(alg) for alg in ALGORITHMS}
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            for hasher in hashers.values():
                hasher.update(block)
    return {alg: hasher.hexdigest() for alg, hasher in hashers.items()}


def file_sha256(path: Any) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            hasher.update(block)
    return hasher.hexdigest()
