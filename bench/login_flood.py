"""Password guessing against a running ``govpub serve``: what gets through, and what
it costs everyone else.

    python -m bench.login_flood [--guessers 16] [--seconds 30] [--code DIR]

Starts ``govpub serve`` (embedded: SQLite, in-process worker) with one operator
account, then floods ``POST /console/login`` from ``--guessers`` threads, each with
its own login form, in two scenarios:

- ``one account``: every guess for the operator's name, from one address;
- ``spray``: every guess from a new address (``X-Forwarded-For``, as nginx would
  pass a botnet's) for a new user name, so no per-account or per-address throttle
  applies and only the bound on hashing work stands between the flood and the server.

While it floods, a prober (a process of its own) asks ``/healthz`` every 0.2 s. Prints per scenario: guesses
the server checked (answered 401) per second, guesses refused without checking (429)
per second, ``/healthz`` latency (median, p95, max), the peak RSS of ``serve``, and
whether the right password, tried once from the flooding address after the flood, let
the attacker in. Each scenario gets a fresh server. ``--code DIR`` runs govpub from
another checkout (a worktree of an older commit), for before and after a change.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from subprocess import PIPE
from typing import Any

import httpx

from bench.infra import scratch
from bench.measure import peak_rss_mb, percentile
from pipeline.localcluster import free_port, stop_process, wait_http

ACCOUNT, PASSWORD = "li.wei", "the-right-password-2026"


@dataclass
class Flood:
    answers: Counter[int] = field(default_factory=Counter)
    healthz_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    right_password: str = ""


def _csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]*)"', page.text)
    if found is None:
        raise RuntimeError("no CSRF field on the login page")
    return found.group(1)


def _guesser(url: str, spray: bool, stop: threading.Event, flood: Flood, lock: threading.Lock) -> None:
    rng = random.Random()
    with httpx.Client(base_url=url, timeout=60) as client:
        csrf = _csrf(client.get("/console/login"))
        while not stop.is_set():
            name, headers = ACCOUNT, {}
            if spray:
                name = f"user{rng.randrange(10**9)}"
                headers = {"x-forwarded-for": f"198.51.{rng.randrange(256)}.{rng.randrange(1, 255)}"}
            form = {"username": name, "password": f"guess-{rng.randrange(10**9)}", "csrf": csrf}
            try:
                status = client.post("/console/login", data=form, headers=headers).status_code
            except httpx.HTTPError:
                status = 0
            with lock:
                flood.answers[status] += 1


def _prober(url: str, seconds: float, answer: Connection) -> None:
    """``/healthz`` every 0.2 s for ``seconds``, from a process of its own (the guessers'
    threads would hold this process's GIL and slow the prober, not the server)."""
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=url, timeout=60) as client:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            client.get("/healthz")
            latencies.append((time.perf_counter() - started) * 1000)
            time.sleep(0.2)
    answer.send(latencies)


def _right_password(url: str) -> str:
    """The attacker's last try: the right password, from the flooding address."""
    with httpx.Client(base_url=url, timeout=60) as client:
        form = {"username": ACCOUNT, "password": PASSWORD, "csrf": _csrf(client.get("/console/login"))}
        status = client.post("/console/login", data=form).status_code
    return "let in" if status == 303 else f"refused ({status})"


def _govpub(code: Path | None, root: Path, *args: str, **kw: Any) -> subprocess.Popen[bytes]:
    """A ``govpub`` command on the embedded database under ``root``, from ``code`` if given."""
    env = {
        **os.environ,
        "GOVPUB_DATABASE_URL": f"sqlite:///{root / 'govpub.db'}",
        "GOVPUB_DATA_DIR": str(root / "data"),
        "GOVPUB_CHANNELS": '{"memory": {"kind": "memory"}}',
    }
    if code is not None:
        env["PYTHONPATH"] = str(code)
    command = [sys.executable, "-m", "pipeline.cli", *args]
    return subprocess.Popen(command, cwd=root, env=env, start_new_session=True, **kw)


def flood(root: Path, guessers: int, seconds: float, spray: bool, code: Path | None) -> Flood:
    added = _govpub(code, root, "users", "add", ACCOUNT, "--role", "operator", "--password-stdin", stdin=PIPE)
    added.communicate(f"{PASSWORD}\n".encode(), timeout=300)
    port = free_port()
    with (root / "serve.log").open("wb") as log:
        serve = _govpub(code, root, "serve", "--port", str(port), stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    result, lock, stop = Flood(), threading.Lock(), threading.Event()
    try:
        wait_http(f"{url}/healthz", timeout=120)
        spawn = multiprocessing.get_context("spawn")
        mine, theirs = spawn.Pipe()
        prober = spawn.Process(target=_prober, args=(url, seconds, theirs))
        prober.start()
        threads = [
            threading.Thread(target=_guesser, args=(url, spray, stop, result, lock)) for _ in range(guessers)
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        result.healthz_ms = mine.recv()
        stop.set()
        for thread in threads:
            thread.join()
        prober.join()
        result.seconds = time.perf_counter() - started
        result.peak_rss_mb = peak_rss_mb(serve.pid)
        result.right_password = _right_password(url)
    finally:
        stop_process(serve)
    return result


def report(name: str, result: Flood) -> list[str]:
    per_second = {status: n / result.seconds for status, n in result.answers.items()}
    ms = result.healthz_ms or [0.0]
    others = {s: n for s, n in sorted(result.answers.items()) if s not in (401, 429)}
    return [
        f"{name}: guesses checked (401) {per_second.get(401, 0.0):.1f}/s, "
        f"refused unchecked (429) {per_second.get(429, 0.0):.1f}/s, other answers {others or 'none'}",
        f"{name}: /healthz median {statistics.median(ms):.0f} ms, p95 {percentile(ms, 0.95):.0f} ms, "
        f"max {max(ms):.0f} ms; peak RSS of serve {result.peak_rss_mb:.0f} MiB; "
        f"the right password afterwards: {result.right_password}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.login_flood", description=__doc__)
    parser.add_argument("--guessers", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--code", type=Path, default=None, help="run govpub from this checkout")
    args = parser.parse_args(argv)
    code = args.code.resolve() if args.code else None
    lines: list[str] = []
    for name, spray in (("one account", False), ("spray", True)):
        with scratch() as root:
            lines += report(name, flood(root, args.guessers, args.seconds, spray, code))
    print(f"{args.guessers} guessers for {args.seconds:.0f} s against govpub serve (embedded, SQLite)")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
