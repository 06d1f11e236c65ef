"""A distributed govpub on this machine: PostgreSQL, Redis, Celery workers and a beat,
each a real subprocess started as ``govpub worker`` / ``govpub beat`` would be."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.config import ChannelConfig, Settings
from pipeline.schema import upgrade
from pipeline.services import Services, build_services
from tests.helpers import govpub, kill


def toml_value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, bool) else str(value).lower()


def write_config(path: Path, settings: dict[str, Any], channels: dict[str, dict[str, Any]]) -> Path:
    """A govpub.toml: top-level settings plus ``[channels.NAME]`` tables with options."""
    lines = [f"{key} = {toml_value(value)}" for key, value in settings.items()]
    for name, cfg in channels.items():
        options = cfg.get("options", {})
        lines.append(f"\n[channels.{name}]")
        lines += [f"{k} = {toml_value(v)}" for k, v in cfg.items() if k != "options"]
        if options:
            lines.append(f"\n[channels.{name}.options]")
            lines += [f"{k} = {toml_value(v)}" for k, v in options.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class Cluster:
    root: Path
    config: Path
    env: dict[str, str]
    services: Services
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def settings(self) -> Settings:
        return self.services.settings

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        log = (self.root / f"{args[0]}-{len(self.procs)}.log").open("wb")
        proc = govpub(*args, env=self.env, cwd=self.root, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def worker(self, queues: str = "govpub.memory", concurrency: int = 2) -> subprocess.Popen[bytes]:
        return self.start("worker", "--queues", queues, "--concurrency", str(concurrency))

    def beat(self) -> subprocess.Popen[bytes]:
        return self.start("beat")

    def stop(self) -> None:
        for proc in self.procs:
            kill(proc)
        self.services.engine.dispose()

    def logs(self) -> str:
        return "\n".join(p.read_text("utf-8", "replace")[-3000:] for p in self.root.glob("*.log"))


def make_cluster(
    root: Path,
    database_url: str,
    broker_url: str,
    channels: dict[str, dict[str, Any]],
    **extra: Any,
) -> Cluster:
    settings = {
        "database_url": database_url,
        "broker_url": broker_url,
        "data_dir": str(root / "data"),
        "retry_base_seconds": 0.1,
        "retry_max_seconds": 0.5,
        "sweep_interval_seconds": 0.2,
        "requeue_after_seconds": 3.0,
        "lease_seconds": 10.0,
        **extra,
    }
    config = write_config(root / "govpub.toml", settings, channels)
    env = {"GOVPUB_CONFIG": str(config), "GOVPUB_LOG_FORMAT": "json"}
    channel_configs = {name: ChannelConfig(**cfg) for name, cfg in channels.items()}
    services = build_services(Settings(**settings, channels=channel_configs))
    upgrade(services.engine)
    return Cluster(root=root, config=config, env=env, services=services)
