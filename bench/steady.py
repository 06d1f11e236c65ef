"""Section 9: approval-to-live latency at a steady rate, and what batches save.

    python -m bench --only 9            # 100 items/s for 60 s
    python -m bench --only 9 --quick    # 100 items/s for 10 s

1. Items arrive at a steady 100/s (ten every 0.1 s through the batch endpoint, not one
   burst) for 60 s, through ``govpub serve``, Celery workers (one per channel,
   concurrency 2), Redis and PostgreSQL, to a static website, a feed and the in-memory
   channel. Approval-to-live (accepted → delivered, from the delivery log) p50/p99 per
   channel, once with the channels' batches (``max_batch`` 50, their default) and once
   with ``max_batch = 1`` (one item per call) as the baseline, in the same run.
2. In one process on PostgreSQL, after 10,000 delivered items: the feed regeneration
   and the website's listing renders for 50 new items, handed over in one batch against
   one by one.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from bench.bulk import load_published, template
from bench.infra import fresh_postgres, fresh_redis, register_demo_agency, scratch, wait_for
from bench.measure import Row, percentile
from bench.realistic import latencies
from bench.spine import demo_like_items
from pipeline.channel import BatchEntry, Channel, DeliveryContext
from pipeline.client import GovpubClient
from pipeline.config import ChannelConfig, Settings
from pipeline.localcluster import LocalCluster
from pipeline.model import ItemIn
from pipeline.schema import upgrade
from pipeline.services import Services, build_services
from pipeline.states import ACTIVE_STATES

RATE = 100  # items per second
TICK = 0.1  # seconds between two submissions of RATE * TICK items
CHANNELS = ("website", "feed", "memory")
NEW = 50  # new items handed over at once in part 2
LOADED = 10_000  # items already delivered in part 2


def channels(max_batch: int) -> dict[str, dict[str, Any]]:
    return {
        "website": {"kind": "website", "options": {"max_batch": max_batch}},
        "feed": {"kind": "feed", "options": {"max_batch": max_batch}},
        "memory": {"kind": "memory"},
    }


def steady(seconds: float, max_batch: int) -> tuple[float, dict[str, list[float]]]:
    """Submit at RATE for ``seconds``; the rate reached and each channel's latencies."""
    with fresh_postgres() as pg, fresh_redis() as broker, scratch() as root:
        cluster = LocalCluster.create(root, pg, broker, channels(max_batch), requeue_after_seconds=60.0)
        try:
            for name in CHANNELS:
                cluster.worker(f"govpub.{name}", concurrency=2)
            cluster.beat()
            _, url = cluster.serve()
            token = cluster.services.store.add_source("bench")
            items = demo_like_items(int(RATE * seconds))
            per_tick = int(RATE * TICK)
            started = time.monotonic()
            with GovpubClient(url, token, timeout=60) as client:
                for n in range(0, len(items), per_tick):
                    delay = started + (n // per_tick) * TICK - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    client.submit_many(items[n : n + per_tick], batch=per_tick)
            offered = len(items) / (time.monotonic() - started)

            def settled() -> bool:
                counts = cluster.services.store.counts()
                return not any(n for st in counts.values() for s, n in st.items() if s in ACTIVE_STATES)

            wait_for(settled, 1800, "steady-rate delivery", every=0.5)
            return offered, latencies(cluster)
        finally:
            cluster.stop()


def handover(kind: str, options: dict[str, Any], batched: bool) -> float:
    """Milliseconds to hand NEW new items to a channel after LOADED delivered ones."""
    with fresh_postgres() as pg, scratch() as root:
        settings = Settings(
            database_url=pg, data_dir=root, channels={kind: ChannelConfig(kind=kind, options=options)}
        )
        services = build_services(settings)
        try:
            upgrade(services.engine)
            register_demo_agency(services.engine)
            load_published(services.engine, template(demo_like_items(1)[0]), LOADED, kind)
            channel = services.channel(kind)
            rebuild: Callable[[], object] | None = getattr(channel, "rebuild", None)
            if rebuild is not None:
                rebuild()  # every listing / feed exists, as in a running installation
            for raw in demo_like_items(NEW):
                fresh = {**raw, "id": f"new-{raw['id']}", "generated_on": "2025-03-01"}
                services.store.accept(ItemIn.model_validate(fresh), {kind: True})
            return _timed(services, channel, batched)
        finally:
            services.engine.dispose()


def _timed(services: Services, channel: Channel, batched: bool) -> float:
    now = services.clock()
    due = services.deliveries.due_for_channel(channel.name, now)
    claims = [c for c in (services.deliveries.claim(i, "bench", now, 600) for i in due) if c]
    assert len(claims) == NEW, len(claims)
    entries = [
        BatchEntry(
            item=c.item,
            ctx=DeliveryContext(c.id, 1, c.channel, now, load_blob=services.store.blob),
            action=c.action,
            previous=c.previous,
        )
        for c in claims
    ]
    started = time.perf_counter()
    if batched:
        answers = channel.publish_batch(entries)
    else:
        answers = {e.ctx.delivery_id: channel.publish(e.item, e.ctx) for e in entries}
    elapsed = (time.perf_counter() - started) * 1000
    assert all(isinstance(a, dict) for a in answers.values()), answers
    return elapsed


def figures(quick: bool) -> list[Row]:
    seconds = 10.0 if quick else 60.0
    rows: list[Row] = []
    for label, max_batch in (("batches of up to 50", 50), ("one by one (max_batch 1)", 1)):
        offered, seen = steady(seconds, max_batch)
        note = f"{offered:.0f} items/s offered for {seconds:.0f} s; {label}"
        for name in CHANNELS:
            lat = seen.get(name, [0.0])
            kind = "static website" if name == "website" else name
            rows += [
                ("9 steady", f"{kind}, {label}: approval-to-live p50", statistics.median(lat), "s", note),
                ("9 steady", f"{kind}, {label}: approval-to-live p99", percentile(lat, 0.99), "s", note),
            ]
    note = f"{NEW} new items after {LOADED:,} delivered, PostgreSQL, in process"
    for kind, what in (("feed", "feed regeneration"), ("website", "website pages and listings")):
        options = {"entries": 50} if kind == "feed" else {}
        one = handover(kind, options, batched=False)
        many = handover(kind, options, batched=True)
        rows += [
            ("9 steady", f"{what}: {NEW} items one by one", one, "ms", note),
            ("9 steady", f"{what}: {NEW} items in one batch", many, "ms", f"{one / many:.1f}x less; {note}"),
        ]
    return rows
