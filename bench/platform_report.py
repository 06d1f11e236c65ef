"""Per-agency annual reports and the platform summary on a platform of 200 agencies and
1,000,000 items, on PostgreSQL, next to the single-agency baseline.

    python -m bench.platform_report [--agencies 200] [--items 1000000] [--repeat 3] [--no-baseline]

Loads the platform with :mod:`bench.platform_data` (four years, Zipf-like agency sizes,
every delivery carrying its agency), then times, for the last year of the data:

- ``build_report`` of one agency (the largest, the median and the smallest), median of
  ``--repeat`` runs: what ``govpub report YEAR --agency CODE`` counts (goal < 1 s);
- ``build_summary`` (every agency's row), median of ``--repeat`` runs, and checks that
  its total equals the platform's own report;
- ``build_report`` of the whole platform, once;
- the single-agency baseline: ``bench.report_1m`` (one agency, 1,000,000 delivery events).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from bench.infra import ensure_services, fresh_postgres, scratch
from bench.platform_data import START_YEAR, YEARS, channels, generate, plan
from pipeline.config import Settings
from pipeline.db import make_engine
from pipeline.report import build_report
from pipeline.report.summary import build_summary
from pipeline.schema import upgrade

YEAR = START_YEAR + YEARS - 1


def timed(repeat: int, run: Callable[[], Any]) -> tuple[list[float], Any]:
    runs, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        runs.append(round(time.perf_counter() - started, 2))
    return runs, result


def run(agencies: int = 200, items: int = 1_000_000, repeat: int = 3, seed: int = 18) -> dict[str, Any]:
    ensure_services()
    planned = plan(agencies, items, seed)
    with fresh_postgres() as url, scratch() as root:
        engine = make_engine(url)
        upgrade(engine)
        loaded = generate(url, agencies, items, seed)
        settings = Settings(database_url=url, channels=channels(planned), data_dir=root / "data")
        by_size = sorted(planned, key=lambda a: a.items, reverse=True)
        picks = {"largest": by_size[0], "median": by_size[len(by_size) // 2], "smallest": by_size[-1]}
        per_agency = {}
        for label, agency in picks.items():
            runs, report = timed(repeat, partial(build_report, engine, settings, YEAR, agency=agency.code))
            per_agency[label] = {
                "agency": agency.code,
                "items_all_years": agency.items,
                "portal_items_in_year": report.counts.totals.portal,
                "seconds": runs,
                "median": statistics.median(runs),
            }
        summary_runs, summary = timed(repeat, lambda: build_summary(engine, settings, YEAR))
        started = time.perf_counter()
        platform = build_report(engine, settings, YEAR)
        platform_seconds = round(time.perf_counter() - started, 2)
        engine.dispose()
    totals = platform.counts.totals
    adds_up = (
        summary.total.items.get("website", 0) == totals.portal
        and summary.total.items.get("archive", 0) == totals.deposit
        and summary.total.late == platform.counts.timeliness.late
    )
    return {
        "year": YEAR,
        "load": loaded,
        "per_agency_report": per_agency,
        "summary_seconds": summary_runs,
        "summary_median": statistics.median(summary_runs),
        "summary_rows": len(summary.rows),
        "summary_adds_up": adds_up,
        "platform_report_seconds": platform_seconds,
        "platform_totals": totals.model_dump(),
    }


def baseline(repeat: int) -> dict[str, Any]:
    from bench.report_1m import run as single_agency

    found = single_agency(1_000_000, repeat)
    return {"build_report_median": found["build_report_median"], "events": found["sizes"]["events_in_year"]}


def lines(result: dict[str, Any], base: dict[str, Any] | None) -> Iterator[str]:
    load = result["load"]
    yield f"platform: {load['agencies']} agencies, rows {load['rows']}, loaded in {load['total_seconds']} s"
    for label, found in result["per_agency_report"].items():
        yield (
            f"per-agency report, {label} agency ({found['items_all_years']} items in all years, "
            f"{found['portal_items_in_year']} on the website in {result['year']}): "
            f"{found['seconds']} s, median {found['median']} s (goal < 1 s)"
        )
    yield (
        f"platform summary ({result['summary_rows']} rows): {result['summary_seconds']} s, "
        f"median {result['summary_median']} s; total equals the platform report: {result['summary_adds_up']}"
    )
    yield f"platform report (every agency at once): {result['platform_report_seconds']} s"
    if base is not None:
        yield (
            f"single-agency baseline (bench.report_1m, one agency, {base['events']} delivery events in the "
            f"year): build_report median {base['build_report_median']} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agencies", type=int, default=200)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-baseline", action="store_true", help="Skip bench.report_1m.")
    parser.add_argument("--json", action="store_true", help="Also print every figure as JSON.")
    args = parser.parse_args()
    result = run(args.agencies, args.items, args.repeat)
    base = None if args.no_baseline else baseline(args.repeat)
    for line in lines(result, base):
        print(line)
    if args.json:
        print(json.dumps({"platform": result, "baseline": base}, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
