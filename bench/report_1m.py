"""The annual report of a year with 1,000,000 delivery events, on PostgreSQL.

    python -m bench.report_1m [--events 1000000] [--repeat 3]

Generates the year straight into a fresh database with COPY (a few tens of seconds):
five channel instances (website, wechat, feed, two archive receivers), 10 % of
deliveries retried once, 1 % dead, 10 % of items revised and redelivered, a few
retracted, 1 % published late, 规范性文件 among them, plus a previous year (2016)
whose items are revised into 2017 (so "first delivery" has something to exclude).
Then ANALYZE, as a live database would have statistics, and times:

- ``build_report`` (every count, in SQL), median of ``--repeat`` runs;
- ``govpub report --year 2017 --out DIR`` as a process: counting plus every format
  (text, JSON, Markdown, HTML, Word, Excel and the chart), wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import text

from bench.infra import ensure_services, fresh_postgres, register_demo_agency, scratch
from bench.platform_data import fill_counters
from pipeline.config import ChannelConfig, Settings
from pipeline.db import make_engine
from pipeline.report import build_report
from pipeline.schema import upgrade

AGENCY = "113703030000000000"
YEAR = 2017
CATEGORIES = {
    "政策法规": ["招生考试", "人事管理"],
    "规划计划": ["基础教育"],
    "业务工作": ["基础教育", "财务管理", "学校体育与卫生教育"],
    "其他信息": ["综合性业务"],
}
CHANNELS = {
    "website": ChannelConfig(kind="website"),
    "wechat": ChannelConfig(kind="wechat"),
    "feed": ChannelConfig(kind="feed"),
    "archive-dag": ChannelConfig(kind="archive"),
    "archive-lib": ChannelConfig(kind="archive"),
}
COLUMNS = {
    "items": "pk, source, item_id, index_no, agency_code, latest_revision, created_at, "
    "retracted_at, retract_reason",
    "revisions": "pk, item_pk, revision, body_hash, title, category, subcategory, genre, validity, "
    "generated_on, accepted_at, document, agency_code",
    "deliveries": "id, item_pk, revision_pk, revision, channel, kind, agency_code, action, state, attempts, "
    "claim_no, next_attempt_at, created_at, updated_at, delivered_at",
    "delivery_events": "id, delivery_id, at, attempt, worker, outcome",
}


class Generator:
    """Rows for COPY, with the ids the tables would give them."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.rows: dict[str, list[tuple[Any, ...]]] = {table: [] for table in COLUMNS}
        self.ids = dict.fromkeys(COLUMNS, 0)
        self.events_in_year = 0

    def next(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def moment(self, year: int) -> datetime:
        start = datetime(year, 1, 1, tzinfo=UTC) - timedelta(hours=8)
        return start + timedelta(seconds=self.rng.randrange(365 * 86400))

    def item(self, year: int) -> None:
        rng = self.rng
        pk = self.next("items")
        published = self.moment(year)
        late = rng.random() < 0.01
        formed = (published - timedelta(days=rng.randrange(40, 90) if late else rng.randrange(0, 15))).date()
        category = rng.choice(list(CATEGORIES))
        normative = rng.random() < 0.02
        first = self.revision(pk, 1, published - timedelta(hours=2), category, formed, normative, "有效")
        channels = ["website", "feed", "archive-dag"] + (["wechat"] if rng.random() < 0.5 else [])
        channels += ["archive-lib"] if rng.random() < 0.4 else []
        for channel in channels:
            self.delivery(pk, first, 1, channel, published + timedelta(minutes=rng.randrange(1, 600)))
        latest = 1
        if rng.random() < 0.10:  # revised later in the year (or into the next one)
            latest = 2
            at = published + timedelta(days=rng.randrange(1, 120))
            repealed = normative and rng.random() < 0.3
            second = self.revision(pk, 2, at, category, at.date(), normative, "废止" if repealed else "有效")
            for channel in ("website", "feed"):
                self.delivery(pk, second, 2, channel, at + timedelta(minutes=5))
        retracted = published + timedelta(days=30) if rng.random() < 0.001 else None
        self.rows["items"].append(
            (
                pk,
                "bench",
                f"b-{pk}",
                f"{AGENCY}/{formed.year}-{pk:06d}",
                AGENCY,
                latest,
                published,
                retracted,
                "内容有误" if retracted else None,
            )
        )

    def revision(
        self,
        item_pk: int,
        number: int,
        at: datetime,
        category: str,
        formed: date,
        normative: bool,
        validity: str,
    ) -> int:
        pk = self.next("revisions")
        document = json.dumps({"agency": {"name": "张店区教育局", "code": AGENCY}}, ensure_ascii=False)
        self.rows["revisions"].append(
            (
                pk,
                item_pk,
                number,
                f"{item_pk:032x}{number:032x}",
                f"基准测试公开信息（第 {item_pk} 号）",
                category,
                self.rng.choice(CATEGORIES[category]),
                "规范性文件" if normative else "通知",
                validity,
                formed,
                at,
                document,
                AGENCY,
            )
        )
        return pk

    def delivery(self, item_pk: int, revision_pk: int, revision: int, channel: str, at: datetime) -> None:
        rng = self.rng
        roll = rng.random()
        outcomes = (
            ["retry", "retry", "dead"]
            if roll < 0.01
            else ["retry", "delivered"]
            if roll < 0.11
            else ["delivered"]
        )
        pk = self.next("deliveries")
        state = outcomes[-1]
        self.rows["deliveries"].append(
            (
                pk,
                item_pk,
                revision_pk,
                revision,
                channel,
                CHANNELS[channel].kind,
                AGENCY,
                "publish",
                state,
                len(outcomes),
                len(outcomes),
                at,
                at - timedelta(minutes=len(outcomes)),
                at,
                at if state == "delivered" else None,
            )
        )
        for n, outcome in enumerate(outcomes, 1):
            moment = at - timedelta(minutes=len(outcomes) - n)
            self.rows["delivery_events"].append(
                (self.next("delivery_events"), pk, moment, n, "bench", outcome)
            )
            start = datetime(YEAR, 1, 1, tzinfo=UTC) - timedelta(hours=8)
            self.events_in_year += start <= moment < start.replace(year=YEAR + 1)


def generate(url: str, events: int) -> dict[str, float]:
    gen = Generator()
    for _ in range(events // 25):  # the previous year: a tenth of the volume
        gen.item(YEAR - 1)
    while gen.events_in_year < events:
        gen.item(YEAR)
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        for table, columns in COLUMNS.items():
            with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in gen.rows[table]:
                    copy.write_row(row)
        conn.commit()
    counted = fill_counters(url)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return {
        "events_in_year": gen.events_in_year,
        "counters_seconds": counted,
        **{t: len(r) for t, r in gen.rows.items()},
    }


def run(events: int = 1_000_000, repeat: int = 3) -> dict[str, Any]:
    ensure_services()
    with fresh_postgres() as url, scratch() as root:
        engine = make_engine(url)
        upgrade(engine)
        register_demo_agency(engine)
        started = time.perf_counter()
        sizes = generate(url, events)
        generated = time.perf_counter() - started
        settings = Settings(database_url=url, channels=CHANNELS, data_dir=root / "data")
        timings = []
        for _ in range(repeat):
            started = time.perf_counter()
            report = build_report(engine, settings, YEAR, agency=AGENCY)
            timings.append(time.perf_counter() - started)
        with engine.connect() as conn:
            size = conn.execute(text("SELECT pg_size_pretty(pg_database_size(current_database()))")).scalar()
        engine.dispose()
        cli = _cli(url, root)
        return {
            "sizes": sizes,
            "database": size,
            "generate_seconds": round(generated, 1),
            "build_report_seconds": [round(t, 2) for t in timings],
            "build_report_median": round(statistics.median(timings), 2),
            "cli_seconds": cli,
            "totals": report.counts.totals.model_dump(),
            "late": report.counts.timeliness.late,
            "retractions": report.counts.retractions.count,
            "normative": report.counts.documents[1].model_dump(include={"issued", "repealed", "in_force"}),
        }


def _cli(url: str, root: Path) -> float:
    """``govpub report --year 2017 --out DIR`` as an operator runs it: every format."""
    config = root / "govpub.toml"
    # website and feed kinds are counted by name when their channels are not registered.
    config.write_text(
        '[channels.wechat]\nkind = "wechat"\n'
        '[channels.archive-dag]\nkind = "archive"\n[channels.archive-lib]\nkind = "archive"\n',
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "GOVPUB_CONFIG": str(config),
        "GOVPUB_DATABASE_URL": url,
        "GOVPUB_DATA_DIR": str(root),
    }
    command = [sys.executable, "-m", "pipeline.cli", "report", "--year", str(YEAR), "--agency", AGENCY]
    started = time.perf_counter()
    subprocess.run([*command, "--out", str(root / "out")], env=env, check=True, capture_output=True)
    return round(time.perf_counter() - started, 2)


def _lines(result: dict[str, Any]) -> Iterator[str]:
    yield f"rows: {result['sizes']} ({result['database']})"
    yield f"generated and analysed in {result['generate_seconds']} s"
    yield f"counts: {result['totals']}, late {result['late']}, retracted {result['retractions']}"
    yield f"规范性文件: {result['normative']}"
    runs, median = result["build_report_seconds"], result["build_report_median"]
    yield f"build_report (all counts, SQL): {runs} s, median {median} s"
    yield f"govpub report --year {YEAR} --out DIR (all formats, new process): {result['cli_seconds']} s"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for line in _lines(run(args.events, args.repeat)):
        print(line)


if __name__ == "__main__":
    main()
