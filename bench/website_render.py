"""How long one item takes to render into a static disclosure column of 10,000 items.

    .venv/bin/python -m bench.website_render [--items 10000] [--renders 20]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/DB] [--folder /tmp/x]

Seeds the database with ``--items`` delivered items (10 years, every category and
sub-category of the default taxonomy), builds the whole site once (listings, search
index, sitemaps and, unless ``--no-item-pages``, every item page), then times the
delivery of new items submitted through the store, run as a worker runs it (claim,
render, record): the newest item (the usual case), a revision of an item
in the middle, a retraction, and the worst case, an item older than all others
(every archive page of its listings shifts). Prints the figures and how many files
each render changed.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import insert

from bench.infra import register_demo_agency
from channels.website.channel import WebsiteChannel
from channels.website.static import StaticSite
from pipeline import db
from pipeline.config import DEFAULT_TAXONOMY, ChannelConfig, Settings
from pipeline.model import ItemIn, Published
from pipeline.runner import run_delivery
from pipeline.schema import upgrade
from pipeline.services import Services, build_services

AGENCY = {"name": "张店区教育局", "code": "113703030000000000"}
DEMO = Path(__file__).resolve().parents[1] / "pipeline" / "demo" / "items.jsonl"


def seed(services: Services, count: int) -> None:
    """``count`` delivered items, inserted in bulk (the intake would take minutes)."""
    rng = random.Random(7)
    template = json.loads(DEMO.read_text("utf-8").splitlines()[0])
    now = datetime.now(UTC)
    categories = list(DEFAULT_TAXONOMY)
    per_year = count // 10 or 1
    items, revisions, deliveries = [], [], []
    for n in range(1, count + 1):
        year = 2017 + (n - 1) // per_year
        day = date(year, 1, 1) + timedelta(days=rng.randrange(365))
        category = rng.choice(categories)
        sub = rng.choice(DEFAULT_TAXONOMY[category])
        index_no = f"{AGENCY['code']}/{year}-{n:05d}"
        doc = Published(
            **{k: template[k] for k in ("approval", "summary", "body_html", "genre", "validity")},
            source="bench",
            id=f"b-{n}",
            revision=1,
            index_no=index_no,
            title=f"{year}年{category}{sub}信息第{n}号",
            agency=AGENCY,
            generated_on=day,
            category=category,
            subcategory=sub,
            accepted_at=now,
        )
        items.append(
            dict(
                pk=n,
                source="bench",
                item_id=f"b-{n}",
                index_no=index_no,
                agency_code=AGENCY["code"],
                latest_revision=1,
                created_at=now,
            )
        )
        revisions.append(
            dict(
                pk=n,
                item_pk=n,
                agency_code=AGENCY["code"],
                revision=1,
                body_hash=f"{n:064d}",
                title=doc.title,
                category=category,
                subcategory=sub,
                genre=doc.genre,
                validity=doc.validity,
                generated_on=day,
                accepted_at=now,
                document=doc.model_dump(mode="json"),
            )
        )
        deliveries.append(
            dict(
                id=n,
                item_pk=n,
                revision_pk=n,
                revision=1,
                channel="website",
                kind="website",
                agency_code=AGENCY["code"],
                action="publish",
                state="delivered",
                attempts=1,
                claim_no=1,
                next_attempt_at=now,
                created_at=now,
                updated_at=now,
                delivered_at=now,
                external_ref={"published_at": now.isoformat()},
            )
        )
    with services.engine.begin() as conn:
        for table, rows in ((db.items, items), (db.revisions, revisions), (db.deliveries, deliveries)):
            for start in range(0, len(rows), 1000):
                conn.execute(insert(table), rows[start : start + 1000])
        if services.engine.dialect.name == "postgresql":
            for sequence in ("items_pk_seq", "revisions_pk_seq", "deliveries_id_seq"):
                conn.exec_driver_sql(f"SELECT setval('{sequence}', {count + 1})")
    if services.engine.dialect.name == "postgresql":  # what autovacuum does after a bulk load
        with services.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")


def build_site(services: Services, site: StaticSite, item_pages: bool) -> None:
    site.rebuild(progress=lambda line: None)
    if not item_pages:
        return
    from sqlalchemy import select

    with services.engine.connect() as conn:
        for doc in conn.execute(select(db.revisions.c.document)).scalars():
            item = Published.model_validate(doc)
            column = site.column(site.agency(item.agency.code))
            page = column.render.item(item, f"http://example/{item.key}", item.accepted_at, [])
            target = column.folder / f"items/{item.key}.html"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(page)


def submit(services: Services, n: int, day: date, **changes: Any) -> int:
    raw = json.loads(DEMO.read_text("utf-8").splitlines()[0])
    raw.update(source="bench", id=f"new-{n}", title=f"新增公开信息 {n}", generated_on=day.isoformat())
    raw.update(changes)
    accepted = services.store.accept(ItemIn.model_validate(raw), {"website": True})
    return accepted.work[0][0]


def timed_delivery(services: Services, channel: WebsiteChannel, delivery_id: int) -> tuple[float, int]:
    """One delivery as a worker runs it (claim, render, record), and the files it changed."""
    before = snapshot(channel)
    started = time.perf_counter()
    outcome = run_delivery(services, delivery_id, "website")
    elapsed = time.perf_counter() - started
    assert outcome == "delivered", outcome
    return elapsed, len(set(snapshot(channel).items()) - set(before.items()))


def snapshot(channel: WebsiteChannel) -> dict[str, int]:
    folder = channel.files_dir
    assert folder is not None
    return {str(p): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--renders", type=int, default=20)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--folder", type=Path, default=None)
    parser.add_argument("--no-item-pages", action="store_true")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    work = Path(tempfile.mkdtemp(prefix="govpub-website-bench-")) if args.folder is None else args.folder
    settings = Settings(
        database_url=args.database_url or f"sqlite:///{work / 'bench.db'}",
        data_dir=work,
        channels={"website": ChannelConfig(kind="website", options={"output_dir": str(work / "site")})},
    )
    services = build_services(settings)
    upgrade(services.engine)
    register_demo_agency(services.engine)
    channel = services.channel("website")
    assert isinstance(channel, WebsiteChannel) and isinstance(channel.adapter, StaticSite)

    started = time.perf_counter()
    seed(services, args.items)
    seeded = time.perf_counter()
    build_site(services, channel.adapter, not args.no_item_pages)
    built = time.perf_counter()
    files = sum(1 for p in (work / "site").rglob("*") if p.is_file())
    print(f"database: {services.engine.dialect.name}; site folder: {work / 'site'}")
    print(
        f"seeded {args.items} items in {seeded - started:.1f}s; "
        f"full build {built - seeded:.1f}s ({files} files)"
    )

    newest = date(2027, 1, 1)
    runs = [
        timed_delivery(services, channel, submit(services, n, newest + timedelta(days=n)))
        for n in range(args.renders)
    ]
    report("publish a new item (newest)", runs)
    runs = []
    for n in range(args.renders):
        item_id = f"b-{1 + n * max(args.items // args.renders, 1)}"
        raw_doc = services.store.item_status("bench", item_id)["item"]
        raw = {k: v for k, v in raw_doc.items() if k not in ("index_no", "accepted_at", "attachments")}
        raw.update(revision=2, title=raw["title"] + "（修订）", attachments=[], cover_image=None)
        accepted = services.store.accept(ItemIn.model_validate(raw), {"website": True})
        runs.append(timed_delivery(services, channel, accepted.work[0][0]))
    report("publish a revision (title changed)", runs)
    runs = []
    for n in range(args.renders):
        work_items = services.store.retract("bench", f"new-{n}", "基准测试撤回")
        runs.append(timed_delivery(services, channel, work_items[0][0]))
    report("retract an item", runs)
    worst = [
        timed_delivery(services, channel, submit(services, 1000 + n, date(2000, 1, 1))) for n in range(3)
    ]
    report("worst case: an item older than all others", worst)


def report(what: str, runs: list[tuple[float, int]]) -> None:
    times = sorted(t for t, _ in runs)
    changed = sorted(c for _, c in runs)
    p90 = times[min(len(times) - 1, int(len(times) * 0.9))]
    print(
        f"{what}: median {statistics.median(times) * 1000:.0f} ms, p90 {p90 * 1000:.0f} ms, "
        f"max {times[-1] * 1000:.0f} ms over {len(times)} renders; files changed per render: "
        f"median {statistics.median(changed):.0f}, max {changed[-1]}"
    )


if __name__ == "__main__":
    main()
