"""The embedded default: ``govpub serve`` alone, SQLite outbox, survives a SIGKILL."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx

from pipeline.client import GovpubClient
from pipeline.console.auth import Accounts, User
from pipeline.db import make_engine
from pipeline.localcluster import write_config
from pipeline.store import utcnow
from tests.helpers import free_port, govpub, kill, make_item, wait_until


def test_serve_killed_and_restarted_delivers_every_item(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "govpub.toml",
        {"lease_seconds": 3.0, "embedded_workers": 1, "sweep_interval_seconds": 0.2},
        {"memory": {"kind": "memory", "options": {"delay_seconds": 0.3}}},
    )
    env = {"GOVPUB_CONFIG": str(config)}
    added = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "sources", "add", "test"],
        env={**env, "PATH": ""},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    token = added.stdout.strip().splitlines()[-1]
    port = free_port()
    url = f"http://127.0.0.1:{port}"

    def serve() -> subprocess.Popen[bytes]:
        proc = govpub(
            "serve",
            "--port",
            str(port),
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: httpx.get(f"{url}/healthz").status_code == 200, 30, "serve")
        return proc

    first = serve()
    with GovpubClient(url, token) as client:
        answers = client.submit_many([make_item(n) for n in range(20)])
        assert {a["status"] for a in answers} == {202}
        wait_until(lambda: client.counts()["memory"].get("delivered", 0) >= 2, 30, "some deliveries")
    kill(first)
    delivered_before = (tmp_path / "var" / "memory-channel" / "received.log").read_text().splitlines()
    assert 2 <= len(delivered_before) < 20

    second = serve()
    try:
        with GovpubClient(url, token) as client:
            wait_until(lambda: client.counts() == {"memory": {"delivered": 20}}, 60, "all delivered")
    finally:
        kill(second)
    records = (tmp_path / "var" / "memory-channel" / "received.log").read_text().splitlines()
    assert sorted(records) == sorted(f"test~t-{n}~r1~publish.json" for n in range(20))


def test_demo_delivers_the_demo_items_and_says_where_to_look(tmp_path: Path) -> None:
    port = free_port()
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "demo", "--no-serve", "--port", str(port)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        env={"PATH": "", "HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "submitted 10 demo items" in done.stdout
    assert "where to look" in done.stdout
    assert f"http://127.0.0.1:{port}/" in done.stdout
    printed = rf"console +http://127.0.0.1:{port}/console/ +\(user demo, password (\S+)\)"
    console = re.search(printed, done.stdout)
    assert console, done.stdout  # the operator can log in to the console with what was printed
    accounts = Accounts(make_engine(f"sqlite:///{tmp_path / 'var' / 'govpub.db'}"), utcnow)
    assert accounts.verify("demo", console[1]) == User("demo", "operator")
    for line in done.stdout.splitlines():  # no channel is left with work on its way
        if line.startswith("│"):
            cells = [c.strip() for c in line.strip("│").split("│")]
            assert cells[1:5] == ["0", "0", "0", "0"], line
