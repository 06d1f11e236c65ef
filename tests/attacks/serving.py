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
