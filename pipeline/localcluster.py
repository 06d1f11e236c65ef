"""A whole govpub on this machine, each role a real process started as in production
(``govpub serve`` / ``worker`` / ``beat`` / ``sandbox``), sharing one TOML file.

Used by the tests that kill workers, by ``python -m bench`` and by the chaos run;
useful to try a distributed set-up by hand too.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import tomli_w

from pipeline.agencies import Agency, add, sync_toml
from pipeline.config import ChannelConfig, Settings
from pipeline.schema import upgrade
from pipeline.services import Services, build_services


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 90.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Until ``url`` answers at all (any status); a ``proc`` that exits first fails at once.

    The deadline is generous (a loaded 2-core machine starts ``serve`` in tens of seconds);
    a server that died is not waited for.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"{url}: the server exited ({proc.returncode}) first") from None
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def stop_process(proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL, timeout: float = 30) -> None:
    """Signal the process group (a Celery worker has children) and reap it."""
    if proc.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout)


# the demo items' agency: a cluster registers it (as ``govpub agencies add`` would) unless
# the caller declares ``agencies`` of its own
DEMO_AGENCY, DEMO_AGENCY_NAME = "113703030000000000", "张店区教育局"


def write_config(path: Path, settings: dict[str, Any], channels: dict[str, dict[str, Any]]) -> Path:
    path.write_text(tomli_w.dumps({**settings, "channels": channels}), encoding="utf-8")
    return path


@dataclass
class LocalCluster:
    root: Path
    config: Path
    services: Services
    env: dict[str, str]
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @classmethod
    def create(
        cls,
        root: Path,
        database_url: str,
        broker_url: str | None,
        channels: dict[str, dict[str, Any]],
        **settings: Any,
    ) -> LocalCluster:
        values = {"database_url": database_url, "data_dir": str(root / "data"), **settings}
        if broker_url:
            values["broker_url"] = broker_url
        root.mkdir(parents=True, exist_ok=True)
        config = write_config(root / "govpub.toml", values, channels)
        configs = {name: ChannelConfig(**cfg) for name, cfg in channels.items()}
        services = build_services(Settings(**values, channels=configs))
        upgrade(services.engine)
        sync_toml(services.engine, services.settings, datetime.now(UTC))  # as serve will
        if not settings.get("agencies") and services.registry.get(DEMO_AGENCY) is None:
            add(services.engine, Agency(DEMO_AGENCY, DEMO_AGENCY_NAME), datetime.now(UTC))
            services.registry.forget()
        env = {"GOVPUB_CONFIG": str(config), "GOVPUB_LOG_FORMAT": "json"}
        return cls(root=root, config=config, services=services, env=env)

    @property
    def settings(self) -> Settings:
        return self.services.settings

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """``govpub ARGS…`` in its own process group, output to a log file under root."""
        log = (self.root / f"{args[0]}-{len(self.procs)}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline.cli", *args],
            cwd=self.root,
            env={**os.environ, **self.env, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def serve(self, port: int | None = None) -> tuple[subprocess.Popen[bytes], str]:
        port = port or free_port()
        proc = self.start("serve", "--port", str(port))
        url = f"http://127.0.0.1:{port}"
        try:
            wait_http(f"{url}/healthz", proc=proc)
        except Exception as exc:
            raise RuntimeError(f"govpub serve did not answer; its log: {self.root}/serve-*.log") from exc
        return proc, url

    def worker(
        self, queues: str, concurrency: int = 2, pool: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        args = ["worker", "--queues", queues, "--concurrency", str(concurrency)]
        return self.start(*args, *(["--pool", pool] if pool else []), env=env)

    def beat(self) -> subprocess.Popen[bytes]:
        return self.start("beat")

    def stop(self) -> None:
        for proc in self.procs:
            stop_process(proc)
        self.procs.clear()
        self.services.engine.dispose()

    def logs(self, tail: int = 3000) -> str:
        return "\n".join(
            f"== {p.name}\n" + p.read_text("utf-8", "replace")[-tail:]
            for p in sorted(self.root.glob("*.log"))
        )
