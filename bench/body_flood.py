"""Large bodies without a token against a running ``govpub serve``: what they cost everyone else.

    python -m bench.body_flood [--attackers 3] [--mib 60] [--seconds 20] [--json FILE]

Starts ``govpub serve`` (embedded: SQLite, in-process worker) and measures it idle:
its resident memory and ``/healthz`` latency. Then ``--attackers`` threads each send
``POST /v1/items:batch`` with a valid batch of ``--mib`` MiB (demo-like items) and no
token, again and again for ``--seconds`` (each one's last upload is waited for),
while a prober asks ``/healthz`` every 0.2 s. An upload goes in 1 MiB pieces and
stops as soon as an answer arrives (an intruder cannot make the server read what it
refuses to read). Prints: serve's RSS idle, its peak during the attack (VmHWM, so
nothing between samples is missed) and after; ``/healthz`` latency idle and under
attack (median, p95, max); the uploads, their answers, the median seconds until an
answer and the MiB sent before it (what the server read, plus socket buffers).

Run from a checkout of another commit (``PYTHONPATH=. python -m bench.body_flood``)
to compare the same attack before and after a change.
"""

from __future__ import annotations

import argparse
import json
import select
import socket
import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.infra import scratch
from bench.measure import percentile
from bench.spine import demo_like_items
from pipeline.localcluster import LocalCluster

PIECE = 1024 * 1024


@dataclass
class Attack:
    status: int = 0
    seconds: float = 0.0
    sent_mib: float = 0.0
    note: str = ""


def attacker(
    url: str, body: bytes, until: float, into: list[Attack], lock: threading.Lock, token: str = ""
) -> None:
    """Uploads one after another until ``until`` (monotonic), each waited for."""
    while True:
        answer = Attack()
        attack(url, body, answer, token)
        with lock:
            into.append(answer)
        if time.monotonic() >= until:
            return


@dataclass
class Figures:
    rss_idle_mb: float = 0.0
    rss_peak_mb: float = 0.0
    rss_after_mb: float = 0.0
    healthz_idle_ms: list[float] = field(default_factory=list)
    healthz_attack_ms: list[float] = field(default_factory=list)
    attacks: list[Attack] = field(default_factory=list)


def batch_body(mib: int) -> bytes:
    """A valid ``{"items": […]}`` of about ``mib`` MiB: what a careless or hostile client sends."""
    one = len(json.dumps(demo_like_items(1)[0], ensure_ascii=False).encode())
    items = demo_like_items(max(1, mib * 1024 * 1024 // (one + 1)))
    return json.dumps({"items": items}, ensure_ascii=False).encode()


def memory_mb(pid: int, key: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak so far) of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def attack(url: str, body: bytes, answer: Attack, token: str = "") -> None:
    """One upload (unauthenticated unless ``token``) over a plain socket; stop sending
    once answered."""
    host, port = url.removeprefix("http://").split(":")
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    head = (
        f"POST /v1/items:batch HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"{auth}Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    started, sent, received = time.perf_counter(), 0, b""
    with socket.create_connection((host, int(port)), timeout=600) as sock:
        sock.sendall(head)
        try:
            while sent < len(body) and not select.select([sock], [], [], 0)[0]:
                sock.sendall(body[sent : sent + PIECE])
                sent += min(PIECE, len(body) - sent)
        except OSError as exc:  # the server closed the connection on us: it refused early
            answer.note = type(exc).__name__
        try:
            while b"\r\n" not in received:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
        except OSError as exc:
            answer.note = answer.note or type(exc).__name__
    answer.seconds = time.perf_counter() - started
    answer.sent_mib = sent / PIECE
    answer.status = int(received.split(b" ", 2)[1]) if received.startswith(b"HTTP/") else 0


def probe(url: str, stop: threading.Event, into: list[float]) -> None:
    with httpx.Client(base_url=url, timeout=120) as client:
        while not stop.is_set():
            started = time.perf_counter()
            client.get("/healthz")
            into.append((time.perf_counter() - started) * 1000)
            stop.wait(0.2)


def measure(attackers: int, mib: int, seconds: float, authenticated: bool = False) -> Figures:
    body = batch_body(mib)
    figures = Figures()
    with scratch() as root:
        cluster = LocalCluster.create(
            root, f"sqlite:///{root / 'govpub.db'}", None, {"memory": {"kind": "memory"}}
        )
        try:
            proc, url = cluster.serve()
            token = cluster.services.store.add_source("bench") if authenticated else ""
            idle = threading.Event()
            threading.Timer(3.0, idle.set).start()
            probe(url, idle, figures.healthz_idle_ms)
            figures.rss_idle_mb = memory_mb(proc.pid, "VmRSS")
            stop = threading.Event()
            prober = threading.Thread(target=probe, args=(url, stop, figures.healthz_attack_ms))
            prober.start()
            until, lock = time.monotonic() + seconds, threading.Lock()
            threads = [
                threading.Thread(target=attacker, args=(url, body, until, figures.attacks, lock, token))
                for _ in range(attackers)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            stop.set()
            prober.join()
            figures.rss_peak_mb = memory_mb(proc.pid, "VmHWM")
            time.sleep(1.0)
            figures.rss_after_mb = memory_mb(proc.pid, "VmRSS")
        finally:
            cluster.stop()
    return figures


def latency(values: list[float]) -> str:
    if not values:
        return "—"
    median, p95 = statistics.median(values), percentile(values, 0.95)
    return f"median {median:.0f} ms, p95 {p95:.0f} ms, max {max(values):.0f} ms ({len(values)} probes)"


def render(figures: Figures, attackers: int, mib: int, seconds: float, authenticated: bool = False) -> str:
    attacks = figures.attacks
    statuses = sorted({a.status for a in attacks})
    lines = [
        f"{attackers} parallel {'authenticated' if authenticated else 'unauthenticated'} POST "
        f"/v1/items:batch of {mib} MiB for {seconds:.0f} s"
        " against govpub serve",
        f"  serve RSS idle              {figures.rss_idle_mb:8.0f} MiB",
        f"  serve RSS peak (VmHWM)      {figures.rss_peak_mb:8.0f} MiB",
        f"  serve RSS after             {figures.rss_after_mb:8.0f} MiB",
        f"  /healthz idle               {latency(figures.healthz_idle_ms)}",
        f"  /healthz under the attack   {latency(figures.healthz_attack_ms)}",
    ]
    if attacks:
        answer_s = statistics.median(a.seconds for a in attacks)
        sent = statistics.median(a.sent_mib for a in attacks)
        longest = max(a.seconds for a in attacks)
        lines += [
            f"  uploads                     {len(attacks)} (answers {statuses})",
            f"  seconds until the answer    median {answer_s:.2f} s, max {longest:.2f} s",
            f"  MiB sent before the answer  median {sent:.0f} of {mib}",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.body_flood", description=__doc__)
    parser.add_argument("--attackers", type=int, default=3)
    parser.add_argument("--mib", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=20.0, help="how long the attackers keep at it")
    parser.add_argument(
        "--authenticated",
        action="store_true",
        help="with a source's valid token: what a careless client costs",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    figures = measure(args.attackers, args.mib, args.seconds, args.authenticated)
    print(render(figures, args.attackers, args.mib, args.seconds, args.authenticated))
    if args.json:
        from dataclasses import asdict

        args.json.write_text(json.dumps(asdict(figures), indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
