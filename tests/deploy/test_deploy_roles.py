"""The roles of deploy/compose.yaml run on this machine exactly as compose starts them:
the same commands, the same environment, the same health checks; only what names
this machine changes (where PostgreSQL, Redis, the TOML file and the secrets are,
and a free port instead of 8000). The migration job runs first, then serve, two
workers per channel queue and the beat; items submitted over HTTP are delivered on
every channel, each exactly once.

The channels of the production configuration (website, wechat, feed, archive) are
configured here as the recording memory channel under the same names, so the queues,
routing and the wechat→website dependency are the production ones while no outside
service is needed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import tomli_w

from tests.deploy.files import Role, compose_roles, production_config
from tests.helpers import TEST_AGENCY, TEST_AGENCY_NAME, free_port, kill, make_item, wait_until

REDIS_DB = 11
# Environment variables whose compose values name the containers' world.
MACHINE_SPECIFIC = {"GOVPUB_CONFIG", "GOVPUB_BROKER_URL", "GOVPUB_SECRETS_DIR"}
ITEMS = 6


class Installation:
    """The files an installation has (TOML, secrets folder) and the processes it runs."""

    def __init__(self, root: Path, database_url: str, broker_url: str) -> None:
        self.root, self.broker_url = root, broker_url
        self.data = root / "data"
        self.data.mkdir()
        secrets = root / "secrets"
        secrets.mkdir()
        (secrets / "govpub_database_url").write_text(database_url + "\n")
        (secrets / "govpub_secret_key").write_text("test-secret-key-0123456789\n")
        (secrets / "govpub_wechat_secret").write_text("not-used-by-the-memory-channel\n")
        self.config = root / "govpub.toml"
        self.config.write_text(tomli_w.dumps(self.configuration()), "utf-8")
        self.overrides = {
            "GOVPUB_CONFIG": str(self.config),
            "GOVPUB_BROKER_URL": broker_url,
            "GOVPUB_SECRETS_DIR": str(secrets),
        }
        self.procs: list[subprocess.Popen[bytes]] = []

    def configuration(self) -> dict[str, Any]:
        """The production file with this machine's data folder, quick sweeps, and each
        channel (its rate limit and dependencies kept) recording into a folder."""
        production = production_config()
        channels = {
            name: {
                **{k: v for k, v in cfg.items() if k not in ("kind", "options")},
                "kind": "memory",
                "options": {"path": str(self.root / "received" / name)},
            }
            for name, cfg in production["channels"].items()
        }
        return {
            **{k: v for k, v in production.items() if k not in ("channels", "data_dir")},
            "data_dir": str(self.data),
            "sweep_interval_seconds": 0.2,
            "requeue_after_seconds": 3.0,
            "retry_base_seconds": 0.1,
            "channels": channels,
        }

    def env(self, role: Role) -> dict[str, str]:
        missing = MACHINE_SPECIFIC - set(role.env)
        assert not missing, f"{role.service}: compose no longer sets {missing}"
        base = {"PATH": os.environ["PATH"], "HOME": str(self.root), "PYTHONUNBUFFERED": "1"}
        # the channels are memory channels here: compose's options for the real ones do not apply
        kept = {k: v for k, v in role.env.items() if not k.startswith("GOVPUB_CHANNELS__")}
        return {**base, **kept, **self.overrides}

    def argv(self, argv: list[str], port: int | None = None) -> list[str]:
        """``govpub`` is the console script installed beside this interpreter."""
        assert argv[0] == "govpub"
        command = [str(Path(sys.executable).parent / "govpub"), *argv[1:]]
        if port is not None:
            command[command.index("--port") + 1] = str(port)
        return command

    def run(self, role: Role, argv: list[str] | None = None, **kw: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(argv or role.argv),
            env=self.env(role),
            cwd=self.data,
            capture_output=True,
            text=True,
            timeout=120,
            **kw,
        )

    def start(self, role: Role, port: int | None = None) -> None:
        log = (self.root / f"{role.service}-{len(self.procs)}.log").open("wb")
        self.procs.append(
            subprocess.Popen(
                self.argv(role.argv, port),
                env=self.env(role),
                cwd=self.data,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a process group: a worker and its pool stop together
            )
        )

    def healthy(self, role: Role, port: int | None = None) -> bool:
        assert role.healthcheck, f"{role.service} has no health check"
        argv = [str(port) if a == "8000" else a for a in role.healthcheck]
        return self.run(role, argv).returncode == 0

    def stop(self) -> None:
        for proc in self.procs:  # SIGTERM first (Celery's warm shutdown), SIGKILL after 30 s
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            kill(proc, signal.SIGKILL, timeout=30)

    def wait(self, check: Callable[[], bool], timeout: float, what: str) -> None:
        try:
            wait_until(check, timeout, what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.logs()}") from None

    def logs(self) -> str:
        tails = (f"== {p.name}\n{p.read_text('utf-8', 'replace')[-2000:]}" for p in self.root.glob("*.log"))
        return "\n".join(tails)

    def received(self, channel: str) -> list[str]:
        log = self.root / "received" / channel / "received.log"
        return log.read_text().splitlines() if log.exists() else []


@pytest.fixture
def installation(tmp_path: Path, pg_url: str, redis_url: str) -> Iterator[Installation]:
    broker = redis_url.rsplit("/", 1)[0] + f"/{REDIS_DB}"
    redis.Redis.from_url(broker).flushdb()
    made = Installation(tmp_path, pg_url, broker)
    yield made
    made.stop()
    redis.Redis.from_url(broker).flushdb()


def test_the_compose_roles_deliver_items_submitted_over_http(installation: Installation) -> None:
    roles = compose_roles()
    by_command = {tuple(r.argv[1:2]): r for r in roles.values()}
    migrate, serve, beat = by_command[("db",)], by_command[("serve",)], by_command[("beat",)]
    workers = [r for r in roles.values() if r.argv[1] == "worker"]

    done = installation.run(migrate)
    assert done.returncode == 0, done.stderr
    assert installation.run(migrate, ["govpub", "db", "check"]).returncode == 0

    port = free_port()
    installation.start(serve, port)
    for worker in workers:
        installation.start(worker)
        installation.start(worker)  # two workers per queue, as `--scale worker-…=2` would
    installation.start(beat)
    for role in (serve, beat, *workers):
        installation.wait(lambda r=role: installation.healthy(r, port), 90, f"{role.service} healthy")

    agency = ["govpub", "agencies", "add", TEST_AGENCY, "--name", TEST_AGENCY_NAME]
    assert installation.run(serve, agency).returncode == 0  # the items' agency, as an operator registers it
    sources_add = installation.run(
        serve, ["govpub", "sources", "add", "upstream-oa", "--agency", TEST_AGENCY]
    )
    assert sources_add.returncode == 0, sources_add.stderr
    auth = {"authorization": f"Bearer {sources_add.stdout.strip().splitlines()[-1]}"}
    answer = httpx.post(
        f"http://127.0.0.1:{port}/v1/items:batch",
        json={"items": [make_item(n) for n in range(ITEMS)]},
        headers=auth,
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    assert [a["status"] for a in answer.json()] == [202] * ITEMS

    channels = sorted(production_config()["channels"])
    everything = {name: {"delivered": ITEMS} for name in channels}
    status = f"http://127.0.0.1:{port}/v1/status"
    installation.wait(lambda: httpx.get(status).json() == everything, 120, "every delivery delivered")
    for name in channels:
        assert sorted(installation.received(name)) == sorted(
            f"upstream-oa~t-{n}~r1~publish.json" for n in range(ITEMS)
        ), name
    item = httpx.get(f"http://127.0.0.1:{port}/v1/items/upstream-oa/t-0", headers=auth).json()
    assert {(d["channel"], d["state"]) for d in item["deliveries"]} == {(c, "delivered") for c in channels}
