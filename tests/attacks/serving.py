"""A running ``govpub serve`` (a real process, embedded worker) for the attack tests
that must go through the network as an intruder would: ``serve_for(db_url)``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.localcluster import LocalCluster


@dataclass
class Served:
    cluster: LocalCluster
    url: str
    token: str
    pid: int

    @property
    def data_dir(self) -> Path:
        return Path(self.cluster.settings.data_dir)

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"authorization": f"Bearer {token or self.token}"}


@contextmanager
def serve_for(
    root: Path, db_url: str, channels: dict[str, dict[str, Any]] | None = None, **settings: Any
) -> Iterator[Served]:
    """``govpub serve`` on ``db_url`` with the memory channel (or ``channels``), a source
    ``test`` and its token."""
    cluster = LocalCluster.create(root, db_url, None, channels or {"memory": {"kind": "memory"}}, **settings)
    try:
        proc, url = cluster.serve()
        token = cluster.services.store.add_source("test")
        yield Served(cluster, url, token, proc.pid)
    finally:
        cluster.stop()


def raw_exchange(url: str, head: str, body: bytes = b"", timeout: float = 30.0) -> tuple[int, bytes]:
    """Send a request head and (part of) a body over a plain socket, then read the answer:
    ``(status, raw answer)``. The body may be shorter than the head announces: a server
    that answers without waiting for the rest proves it never read it."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=timeout) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return status, answer
