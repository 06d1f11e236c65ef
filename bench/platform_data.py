"""A platform's data for the issue-18 benchmarks: many agencies, many items, on PostgreSQL.

    python -m bench.platform_data [--agencies 200] [--items 1000000] [--seed 18] [--keep]

Into a fresh, upgraded database (or ``--url`` of one): the agencies (one government at
the head, then departments, towns and sub-districts in the proportions 150/30/19 of
200), a source bound to each, their items sized Zipf-like (the largest agency a few
percent of all, the smallest a few hundred at 1 M), spread over four years, 1.1
revisions per item, and one delivery per revision per channel instance serving the
agency: ``website``, ``feed`` and the platform receiver ``district-archives`` for all,
``wechat`` for the first 60 % (their own accounts), ``archive-{path}`` for every fourth
agency. 1 % of deliveries dead, 5 % retried, 0.5 % of items retracted. Rows are streamed
with ``COPY … FROM STDIN`` per agency, then the sequences are moved past them and the
database is ANALYZEd. Prints the sizes and the time taken as JSON.

Other benchmarks import :func:`generate` (and :func:`channels` for the configuration
the data was made for).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from pipeline.config import ChannelConfig

START_YEAR = 2023
YEARS = 4
CATEGORIES = ["政策法规", "规划计划", "业务工作", "其他信息"]
KIND_SHARES = (("department", 150), ("town", 30), ("subdistrict", 19))
TABLES = {
    "items": "pk, source, item_id, index_no, agency_code, latest_revision, created_at, retracted_at, "
    "retract_reason",
    "revisions": "pk, item_pk, agency_code, revision, body_hash, title, category, generated_on, accepted_at, "
    "document",
    "deliveries": "id, item_pk, revision_pk, revision, agency_code, channel, kind, action, state, attempts, "
    "claim_no, next_attempt_at, created_at, updated_at, delivered_at",
    "delivery_events": "id, delivery_id, at, attempt, worker, outcome",
}


@dataclass(frozen=True)
class PlannedAgency:
    code: str
    name: str
    kind: str
    path: str
    parent: str | None
    items: int
    wechat: bool
    own_receiver: bool


def plan(agencies: int, items: int, seed: int = 18) -> list[PlannedAgency]:
    """The agencies, largest first, with their item counts (summing to ``items``)."""
    rng = random.Random(seed)
    weights = [1 / (rank + 1) ** 0.9 for rank in range(agencies)]
    total = sum(weights)
    counts = [max(1, int(items * w / total)) for w in weights]
    counts[0] += items - sum(counts)
    head = "11370303000000000G"
    others = [kind for kind, share in KIND_SHARES for _ in range(round(share * (agencies - 1) / 199))]
    others = (others + ["department"] * agencies)[: agencies - 1]
    rng.shuffle(others)
    kinds = ["government", *others]
    planned = []
    for n, (kind, count) in enumerate(zip(kinds, counts, strict=True)):
        code = head if n == 0 else f"11370303{n:09d}X"
        planned.append(
            PlannedAgency(
                code=code,
                name="张店区人民政府" if n == 0 else f"张店区{kind}{n:03d}",
                kind=kind,
                path="zd" if n == 0 else f"a{n:03d}",
                parent=None if n == 0 else head,
                items=count,
                wechat=n < agencies * 0.6,
                own_receiver=n % 4 == 1,
            )
        )
    return planned


def channels(planned: list[PlannedAgency]) -> dict[str, ChannelConfig]:
    """The channel instances the data was made for (per-agency receivers included)."""
    found = {
        "website": ChannelConfig(kind="website"),
        "feed": ChannelConfig(kind="feed"),
        "wechat": ChannelConfig(kind="wechat"),
        "district-archives": ChannelConfig(kind="archive"),
    }
    for agency in planned:
        if agency.own_receiver:
            found[f"archive-{agency.path}"] = ChannelConfig(kind="archive", agencies=[agency.code])
    return found


class Rows:
    """Rows of one agency for each table, with the pks the tables would give them."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.next_pk = dict.fromkeys(TABLES, 0)
        self.sizes = dict.fromkeys(TABLES, 0)

    def pk(self, table: str) -> int:
        self.next_pk[table] += 1
        self.sizes[table] += 1
        return self.next_pk[table]

    def of(self, agency: PlannedAgency) -> dict[str, list[tuple[Any, ...]]]:
        rows: dict[str, list[tuple[Any, ...]]] = {table: [] for table in TABLES}
        serving = ["website", "feed", "district-archives"]
        serving += ["wechat"] if agency.wechat else []
        serving += [f"archive-{agency.path}"] if agency.own_receiver else []
        template = json.dumps(
            {
                "agency": {"code": agency.code, "name": agency.name},
                "title": "@TITLE@",
                "body_html": "<p>" + "依法公开的政府信息正文。" * 60 + "</p>",
                "index_no": "@INDEX@",
            },
            ensure_ascii=False,
        )
        serials: dict[int, int] = {}
        rng = self.rng
        for n in range(agency.items):
            year = START_YEAR + rng.randrange(YEARS)
            serials[year] = serials.get(year, 0) + 1
            index_no = f"{agency.code}/{year}-{serials[year]:05d}"
            at = datetime(year, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(364 * 86400))
            revisions = 2 if rng.random() < 0.1 else 1
            retracted = at + timedelta(days=30) if rng.random() < 0.005 else None
            item_pk = self.pk("items")
            rows["items"].append(
                (
                    item_pk,
                    f"src-{agency.path}",
                    str(n),
                    index_no,
                    agency.code,
                    revisions,
                    at,
                    retracted,
                    "误发" if retracted else None,
                )
            )
            for revision in range(1, revisions + 1):
                moment = at + timedelta(days=revision - 1)
                title = f"{agency.name}关于第{n}号事项的通知"
                revision_pk = self.pk("revisions")
                document = template.replace("@TITLE@", title).replace("@INDEX@", index_no)
                rows["revisions"].append(
                    (
                        revision_pk,
                        item_pk,
                        agency.code,
                        revision,
                        f"{item_pk}-{revision}",
                        title,
                        CATEGORIES[n % len(CATEGORIES)],
                        moment.date(),
                        moment,
                        document,
                    )
                )
                for channel in serving:
                    self._delivery(rows, agency, item_pk, revision_pk, revision, channel, moment)
        return rows

    def _delivery(
        self,
        rows: dict[str, list[tuple[Any, ...]]],
        agency: PlannedAgency,
        item_pk: int,
        revision_pk: int,
        revision: int,
        channel: str,
        at: datetime,
    ) -> None:
        roll = self.rng.random()
        outcomes = (
            ["retry", "retry", "dead"]
            if roll < 0.01
            else ["retry", "delivered"]
            if roll < 0.06
            else ["delivered"]
        )
        state = outcomes[-1]
        done = at + timedelta(minutes=len(outcomes))
        kind = "archive" if channel.startswith(("archive-", "district-")) else channel
        delivery_id = self.pk("deliveries")
        rows["deliveries"].append(
            (
                delivery_id,
                item_pk,
                revision_pk,
                revision,
                agency.code,
                channel,
                kind,
                "publish",
                state,
                len(outcomes),
                len(outcomes),
                done,
                at,
                done,
                done if state == "delivered" else None,
            )
        )
        for attempt, outcome in enumerate(outcomes, 1):
            rows["delivery_events"].append(
                (
                    self.pk("delivery_events"),
                    delivery_id,
                    at + timedelta(minutes=attempt),
                    attempt,
                    "bench",
                    outcome,
                )
            )


def _registry_rows(
    planned: list[PlannedAgency], now: datetime
) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
    yield (
        "agencies (code, name, parent_code, kind, path, former_paths, position, managed_by, created_at)",
        [(a.code, a.name, a.parent, a.kind, a.path, "[]", n, "cli", now) for n, a in enumerate(planned)],
    )
    yield (
        "sources (name, token_hash, created_at)",
        [(f"src-{a.path}", f"bench-{a.code}", now) for a in planned],
    )
    yield "source_agencies (source, agency_code)", [(f"src-{a.path}", a.code) for a in planned]


def fill_counters(url: str) -> float:
    """The counters of a log loaded with COPY, as the migration fills them (pipeline.recount);
    returns the seconds it took."""
    from pipeline import recount
    from pipeline.db import make_engine

    started = time.perf_counter()
    engine = make_engine(url)
    with engine.begin() as conn:
        recount.fill(conn)
    engine.dispose()
    return round(time.perf_counter() - started, 1)


def generate(url: str, agencies: int = 200, items: int = 1_000_000, seed: int = 18) -> dict[str, Any]:
    """Load the platform into the (upgraded, empty) database at ``url``."""
    started = time.perf_counter()
    planned = plan(agencies, items, seed)
    rows = Rows(random.Random(seed))
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    now = datetime.now(UTC)
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        for target, values in _registry_rows(planned, now):
            with cur.copy(f"COPY {target} FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
        for agency in planned:
            for table, values in rows.of(agency).items():
                with cur.copy(f"COPY {table} ({TABLES[table]}) FROM STDIN") as copy:
                    for row in values:
                        copy.write_row(row)
        cur.execute(
            "INSERT INTO index_serials (agency_code, year, last_serial) "
            "SELECT agency_code, CAST(split_part(split_part(index_no, '/', 2), '-', 1) AS integer), count(*) "
            "FROM items GROUP BY 1, 2"
        )
        for table, key in (
            ("items", "pk"),
            ("revisions", "pk"),
            ("deliveries", "id"),
            ("delivery_events", "id"),
        ):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{key}'), (SELECT max({key}) FROM {table}))"
            )
        cur.execute(
            "UPDATE installation SET value = CAST(CAST(value AS integer) + 1 AS text) "
            "WHERE key = 'agencies_version'"
        )
        conn.commit()
    loaded = time.perf_counter() - started
    counted = fill_counters(url)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ANALYZE")
    return {
        "agencies": agencies,
        "items_per_agency": {
            "largest": planned[0].items,
            "median": planned[len(planned) // 2].items,
            "smallest": planned[-1].items,
        },
        "rows": rows.sizes,
        "load_seconds": round(loaded, 1),
        "counters_seconds": counted,
        "total_seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    from bench.infra import ensure_services, fresh_postgres
    from pipeline.db import make_engine
    from pipeline.schema import upgrade

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agencies", type=int, default=200)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--url", help="an upgraded, empty database (default: a fresh one, dropped after)")
    args = parser.parse_args()
    if args.url:
        print(json.dumps(generate(args.url, args.agencies, args.items, args.seed), indent=2))
        return
    ensure_services()
    with fresh_postgres() as url:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        print(json.dumps(generate(url, args.agencies, args.items, args.seed), indent=2))


if __name__ == "__main__":
    main()
