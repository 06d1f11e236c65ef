"""Run govpub under faults and check its three promises from the outside.

    python -m bench.chaos [--items 2000] [--faults 50] [--seed 1]

Starts private PostgreSQL and Redis servers, the WeChat, CMS and archive sandboxes,
``govpub serve``, two workers per channel queue (memory, website via the CMS,
WeChat, a per-item archive receiver) and ``govpub beat``, then submits a stream of
items while it kills workers (SIGKILL), restarts Redis, flushes it once, restarts
PostgreSQL and makes every channel fail, time out after doing the work, or crawl.
At the end it counts, from each channel's own records (never from govpub's log),
that every accepted item arrived exactly once, and that govpub's log agrees.
Hostile inputs, intruders, body images pointing at an internal service (SSRF),
index squatting, 60 MiB bodies without a token and leaking reads are tried along
the way. Exit status 1 when a promise is broken.
"""

from __future__ import annotations

import random
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.chaos.campaigns import Tripwire, hostile_inputs, intrusions, login_flood, ssrf_attempts
from bench.chaos.intake_attacks import body_floods, index_squatting, read_leaks
from bench.chaos.servers import PostgresServer, RedisServer
from bench.chaos.targets import Target, archive_target, cms_target, memory_target, wechat_target
from bench.infra import scratch
from pipeline.client import GovpubClient
from pipeline.localcluster import LocalCluster, free_port, stop_process, wait_http
from pipeline.states import ACTIVE_STATES

ItemKey = tuple[str, int]  # (item id, revision)


@dataclass
class Tally:
    faults: Counter[str] = field(default_factory=Counter)
    inputs_tried: int = 0
    inputs_mishandled: int = 0
    intrusions_tried: int = 0
    intrusions_succeeded: int = 0
    login_guesses: int = 0
    login_guesses_unthrottled: int = 0
    accepted: set[str] = field(default_factory=set)
    delivered: dict[str, int] = field(default_factory=dict)
    lost: dict[str, int] = field(default_factory=dict)
    doubled: dict[str, int] = field(default_factory=dict)
    log_disagrees: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    in_flight: int = 0
    operator_retries: int = 0
    quota_resets: int = 0
    ssrf_tried: int = 0
    ssrf_reached: int = 0
    squats_tried: int = 0
    squats_harmful: int = 0  # an automatic item refused, a taken number not 409, a 5xx
    floods_tried: int = 0
    floods_read: int = 0  # a body without a valid token that was read before the 401
    reads_tried: int = 0
    reads_leaked: int = 0

    @property
    def broken(self) -> bool:
        return bool(
            sum(self.lost.values())
            or sum(self.doubled.values())
            or self.intrusions_succeeded
            or self.ssrf_reached
            or self.squats_harmful
            or self.floods_read
            or self.reads_leaked
            or self.login_guesses_unthrottled
            or self.inputs_mishandled
            or sum(self.log_disagrees.values())
        )


class Chaos:
    def __init__(self, root: Path, items: int, faults: int, seed: int) -> None:
        self.root, self.items, self.faults = root, items, faults
        self.rng = random.Random(seed)
        self.tally = Tally()
        self.redis = RedisServer(root / "redis")
        self.postgres = PostgresServer(root / "postgres")
        self.wechat_port, self.cms_port, self.archive_port = free_port(), free_port(), free_port()
        self.item_of_key: dict[str, str] = {}  # 索引号 (as in a path) → item id, from the receipts
        self.targets: list[Target] = [
            memory_target(root, "memory"),
            cms_target(self.cms_port),
            wechat_target(self.wechat_port, self.redis.url.replace("/0", "/1")),
            archive_target(self.archive_port, root, self.item_of_key),
        ]
        self.workers: dict[str, list[Any]] = {}
        self.lock = threading.Lock()
        self.tripwire = Tripwire()  # an internal service no body image may reach

    # -- the system -----------------------------------------------------------------
    def start(self) -> None:
        self.postgres.init()
        self.postgres.start()
        self.redis.start()
        channels = {t.name: t.config for t in self.targets}
        secret = {
            "GOVPUB_WECHAT_SECRET": "sandbox-secret",
            "GOVPUB_WECHAT_CALLBACK_TOKEN": "chaos-callback-token",
            "GOVPUB_CMS_TOKEN": "sandbox-token",
            "GOVPUB_CMS_SECRET": "sandbox-secret",
        }
        self.cluster = LocalCluster.create(
            self.root / "govpub",
            self.postgres.url,
            self.redis.url,
            channels,
            lease_seconds=15.0,
            requeue_after_seconds=5.0,
            sweep_interval_seconds=0.5,
            retry_base_seconds=0.2,
            retry_max_seconds=3.0,
            max_attempts=100,
        )
        self.cluster.env.update(secret)
        self.cluster.start("sandbox", "wechat", "--port", str(self.wechat_port), "--publish-delay", "0.2")
        self.cluster.start("sandbox", "cms", "--port", str(self.cms_port))
        archive_dir = str(self.root / "archive-sandbox")
        self.cluster.start("sandbox", "archive", "--port", str(self.archive_port), "--dir", archive_dir)
        for ready in (
            f"{self.wechat_port}/sandbox/record",
            f"{self.cms_port}/health",
            f"{self.archive_port}/health",
        ):
            wait_http(f"http://127.0.0.1:{ready}")
        for target in self.targets:
            self.workers[target.queue] = [self.cluster.worker(target.queue, concurrency=1) for _ in range(2)]
        self.cluster.beat()
        _, self.url = self.cluster.serve()
        self.token = self.cluster.services.store.add_source("chaos")

    def stop(self) -> None:
        """Everything :meth:`start` started, also when it failed half-way."""
        if "cluster" in vars(self):
            self.cluster.stop()
        self.tripwire.close()
        self.redis.stop()
        self.postgres.stop(fast=True)

    # -- faults ------------------------------------------------------------------------
    def fault_kinds(self) -> dict[str, Callable[[], None]]:
        kinds: dict[str, Callable[[], None]] = {
            "worker SIGKILL": self.kill_worker,
            "Redis restart": self.redis.restart,
            "PostgreSQL restart": self.postgres.restart,
        }
        for target in self.targets:
            kinds.update(target.faults())
        return kinds

    def kill_worker(self) -> None:
        queue = self.rng.choice(sorted(self.workers))
        pool = self.workers[queue]
        victim = pool.pop(self.rng.randrange(len(pool)))
        stop_process(victim)
        pool.append(self.cluster.worker(queue, concurrency=1))

    def inject(self, stop: threading.Event) -> None:
        kinds = self.fault_kinds()
        schedule = [k for k in kinds for _ in range(self.faults)]
        self.rng.shuffle(schedule)
        flush_at = len(schedule) // 2
        for n, kind in enumerate(schedule):
            if stop.is_set():
                return
            if n == flush_at:
                self.redis.flush()
                self.tally.faults["Redis flush"] += 1
            kinds[kind]()
            self.tally.faults[kind] += 1
            stop.wait(self.rng.uniform(0.1, 0.6))

    # -- traffic -------------------------------------------------------------------------
    def submit(self) -> None:
        """Batches of items; a batch refused by a failing server is resubmitted as is
        (a resubmission is answered with the existing item, never a duplicate)."""
        from bench.spine import demo_like_items

        items = demo_like_items(self.items)
        for item in items:
            item["source"] = "chaos"
        with GovpubClient(self.url, self.token, timeout=30) as client:
            for start in range(0, len(items), 20):
                batch = items[start : start + 20]
                for _ in range(200):
                    try:
                        answers = client.submit_many(batch)
                        break
                    except (httpx.HTTPError, Exception):
                        time.sleep(0.25)
                else:
                    raise RuntimeError("the intake never came back")
                for item, answer in zip(batch, answers, strict=True):
                    if answer["status"] in (200, 202):
                        self.tally.accepted.add(item["id"])
                        self.item_of_key[answer["receipt"]["index_no"].replace("/", "-")] = item["id"]

    def campaigns(self) -> None:
        tried, mishandled = hostile_inputs(self.url, self.token)
        self.tally.inputs_tried += tried
        self.tally.inputs_mishandled += mishandled
        tried, succeeded = intrusions(self.url, self.token, self.cluster)
        self.tally.intrusions_tried += tried
        self.tally.intrusions_succeeded += succeeded
        self.tally.ssrf_tried += ssrf_attempts(self.url, self.token, self.tripwire.port)
        self.tally.login_guesses, self.tally.login_guesses_unthrottled = login_flood(self.url, self.cluster)
        self.intake_attacks()

    def intake_attacks(self) -> None:
        tally = self.tally
        tally.squats_tried, tally.squats_harmful = index_squatting(self.url, self.token, self.cluster)
        tally.floods_tried, tally.floods_read = body_floods(self.url)
        tally.reads_tried, tally.reads_leaked = read_leaks(self.url, self.token, self.cluster)

    # -- the verdict ----------------------------------------------------------------------
    def settle(self, timeout: float) -> None:
        store = self.cluster.services.store
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.midnight()
                counts = store.counts()
                if not any(n for states in counts.values() for s, n in states.items() if s in ACTIVE_STATES):
                    return
            except Exception:
                pass
            time.sleep(0.5)

    def midnight(self) -> None:
        """WeChat's daily quota (45009) comes back at midnight China time, hours away: a
        delivery refused for it rightly waits until then. The run cannot wait that long,
        so it moves those deliveries to their midnight now, as the night would (the
        sandbox's injected 45009 is used up by then). The table counts them."""
        from sqlalchemy import select

        from pipeline import db

        services = self.cluster.services
        with services.engine.connect() as conn:
            ids = list(
                conn.execute(
                    select(db.deliveries.c.id).where(
                        db.deliveries.c.state == "waiting", db.deliveries.c.reason.like("%(45009)%")
                    )
                ).scalars()
            )
        self.tally.quota_resets += len(services.deliveries.wake(ids, services.clock()))

    def retry_dead(self) -> int:
        """What an operator does with a delivery that ran out of attempts (a channel that
        failed a hundred times in a row, as a lone straggler does when every fault of its
        kind lands on it): retry it once. The table counts these."""
        from sqlalchemy import select

        from pipeline import db

        services = self.cluster.services
        with services.engine.connect() as conn:
            dead = conn.execute(select(db.deliveries.c.id).where(db.deliveries.c.state == "dead")).scalars()
            ids = list(dead)
        retried = sum(services.deliveries.retry_now(i, "chaos-operator", services.clock()) for i in ids)
        self.tally.operator_retries = retried
        return retried

    def verify(self) -> None:
        self.tally.ssrf_reached = self.tripwire.connections
        counts = self.cluster.services.store.counts()
        self.tally.in_flight = sum(n for st in counts.values() for s, n in st.items() if s in ACTIVE_STATES)
        logged = self.logged_deliveries()
        for target in self.targets:
            seen = target.published()
            # The campaigns' own items are checked for doubles, not counted as the run's.
            delivered = {i for i, n in seen.items() if n >= 1 and i.startswith("b-")}
            self.tally.delivered[target.name] = len(delivered & self.tally.accepted)
            self.tally.lost[target.name] = len(self.tally.accepted - delivered)
            self.tally.doubled[target.name] = sum(1 for n in seen.values() if n > 1)
            differ = logged.get(target.name, set()) ^ delivered
            self.tally.log_disagrees[target.name] = len(differ)
            if differ:
                self.tally.notes.append(f"{target.name}: log and channel differ on {sorted(differ)[:10]}")
            if self.tally.doubled[target.name]:
                twice = sorted(i for i, n in seen.items() if n > 1)[:10]
                self.tally.notes.append(f"{target.name}: published more than once: {twice}")
            lost = sorted(self.tally.accepted - delivered)[:10]
            if lost:
                self.tally.notes.append(f"{target.name}: never arrived: {lost}")

    def logged_deliveries(self) -> dict[str, set[str]]:
        """What govpub's own log says was delivered, per channel (the run's items only)."""
        from sqlalchemy import select

        from pipeline import db

        query = (
            select(db.deliveries.c.channel, db.items.c.item_id)
            .join(db.items, db.items.c.pk == db.deliveries.c.item_pk)
            .where(
                db.deliveries.c.state == "delivered",
                db.deliveries.c.action == "publish",
                db.items.c.source == "chaos",
                db.items.c.item_id.like("b-%"),
            )
        )
        out: dict[str, set[str]] = {}
        with self.cluster.services.engine.connect() as conn:
            for channel, item_id in conn.execute(query):
                out.setdefault(channel, set()).add(item_id)
        return out

    def run(self, settle_timeout: float = 1800.0) -> Tally:
        stop = threading.Event()
        injector = threading.Thread(target=self.inject, args=(stop,), daemon=True)
        try:
            self.start()  # inside: a start that fails stops what it started
            injector.start()
            self.submit()
            self.campaigns()
            injector.join()
            self.settle(settle_timeout)
            if self.retry_dead():
                self.settle(settle_timeout)
            self.verify()
        finally:
            stop.set()
            if injector.ident is not None:
                injector.join()
            self.stop()
        return self.tally


def render(tally: Tally) -> str:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="govpub chaos run")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for kind, n in sorted(tally.faults.items()):
        table.add_row(f"faults injected: {kind}", str(n))
    table.add_row("hostile inputs tried", str(tally.inputs_tried))
    table.add_row("hostile inputs mishandled (must be 0)", str(tally.inputs_mishandled))
    table.add_row("items accepted", str(len(tally.accepted)))
    for name, n in sorted(tally.delivered.items()):
        table.add_row(f"items delivered: {name}", str(n))
    table.add_row("dead deliveries an operator retried", str(tally.operator_retries))
    table.add_row("deliveries moved to WeChat's midnight quota reset (45009)", str(tally.quota_resets))
    table.add_row("deliveries unfinished at the deadline (must be 0)", str(tally.in_flight))
    table.add_row("items missing at a channel (must be 0)", str(sum(tally.lost.values())))
    table.add_row("double publications (must be 0)", str(sum(tally.doubled.values())))
    table.add_row("log disagreeing with channels (must be 0)", str(sum(tally.log_disagrees.values())))
    table.add_row("intrusions tried", str(tally.intrusions_tried))
    table.add_row("unauthorised successes (must be 0)", str(tally.intrusions_succeeded))
    table.add_row("SSRF: internal addresses in body images", str(tally.ssrf_tried))
    table.add_row("SSRF: connections reaching the internal service (must be 0)", str(tally.ssrf_reached))
    table.add_row("login guesses by 8 parallel guessers", str(tally.login_guesses))
    table.add_row("login guesses checked past the throttle (must be 0)", str(tally.login_guesses_unthrottled))
    table.add_row("index squatting: numbers claimed and items after them", str(tally.squats_tried))
    table.add_row("index squatting: items refused or 5xx (must be 0)", str(tally.squats_harmful))
    table.add_row("60 MiB bodies without a valid token", str(tally.floods_tried))
    table.add_row("bodies read before the 401 (must be 0)", str(tally.floods_read))
    table.add_row("reads of the report, overview and an item", str(tally.reads_tried))
    table.add_row("reads leaking titles, receipts or paths (must be 0)", str(tally.reads_leaked))
    table.add_row("verdict", "BROKEN" if tally.broken else "all promises kept")
    console = Console(width=100, record=True)
    console.print(table)
    for note in tally.notes:
        console.print(f"  ! {note}")
    return console.export_text()


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m bench.chaos",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--faults", type=int, default=50, help="faults of every kind")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (logs, data)")
    args = parser.parse_args(argv)
    parser_keep = args.keep
    if parser_keep:
        root = Path(tempfile.mkdtemp(prefix="govpub-chaos-"))
        print(f"keeping logs and data in {root}")
        tally = Chaos(root, args.items, args.faults, args.seed).run()
    else:
        with scratch() as root:
            tally = Chaos(root, args.items, args.faults, args.seed).run()
    render(tally)
    return 1 if tally.broken else 0
