"""Issue 18's scale section as one table: each section's own module run in turn
(bench/platform.py intake, bench/platform_site.py render, bench/platform_console.py
console loads, bench/platform_report.py report and summary), each loading its own
platform (bench/platform_data.py), and their figures beside the issue's goals and the
single-agency baselines. Each module stays runnable alone; this only calls their
``run`` functions and reads what they answer.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

SECTIONS = ("intake", "site", "console", "report")
Row = tuple[str, str, str, str]  # figure, goal, platform, single agency


def intake(agencies: int, items: int, quick: bool, redis: str) -> list[Row]:
    from bench import platform
    from bench.infra import fresh_redis, scratch

    requests = 50 if quick else 300
    with scratch() as root, fresh_redis(redis) as broker:
        one = platform.single_agency(root, broker, requests)
        many, _ = platform.platform(Path(root), broker, agencies, items, requests)
    return [("intake: accept one item, p50 / p95 ms", "-", _pair(many), _pair(one))]


def site(agencies: int, items: int, quick: bool, redis: str) -> list[Row]:
    from bench import platform_site

    renders, base_items = (5, 2_000) if quick else (20, 10_000)
    found = platform_site.run(agencies, items, renders, ["largest", "median", "smallest"], base_items)
    base = found["baseline"]
    return [
        (
            f"render one new item, {label} column ({figures['items']:,} items), median / max ms",
            "< 200 ms",
            f"{figures['median_ms']} / {figures['max_ms']}",
            f"{base['median_ms']} / {base['max_ms']} ({base['items']:,} items)",
        )
        for label, figures in found["columns"].items()
    ]


def console(agencies: int, items: int, quick: bool, redis: str) -> list[Row]:
    from bench import platform_console

    found = platform_console.run(agencies, items, 5 if quick else 20, redis)
    rows: list[Row] = []
    for user, pages in found["pages"].items():
        page, worst = max(pages.items(), key=lambda kv: kv[1]["median"])
        figure = f"console, {user}: slowest page ({page}), median ms"
        rows.append((figure, "< 300 ms", f"{worst['median']:.1f}", "-"))
    return rows


def report(agencies: int, items: int, quick: bool, redis: str) -> list[Row]:
    from bench import platform_report

    found = platform_report.run(agencies, items, 1 if quick else 3)
    base = None if quick else platform_report.baseline(3)
    single = f"{base['build_report_median']} s (1 agency, 1M items)" if base else "-"
    rows: list[Row] = [
        (
            f"per-agency report, {label} agency ({figures['items_all_years']:,} items), median s",
            "< 1 s",
            f"{figures['median']:.2f}",
            single,
        )
        for label, figures in found["per_agency_report"].items()
    ]
    rows.append(
        (
            f"platform summary ({found['summary_rows']} rows; adds up: {found['summary_adds_up']}), median s",
            "-",
            f"{found['summary_median']:.2f}",
            "-",
        )
    )
    every = f"{found['platform_report_seconds']}"
    rows.append(("platform report, every agency at once, s", "-", every, single))
    return rows


RUNNERS: dict[str, Callable[[int, int, bool, str], list[Row]]] = {
    "intake": intake,
    "site": site,
    "console": console,
    "report": report,
}


def run(sections: list[str], agencies: int, items: int, quick: bool, redis: str) -> list[Row]:
    rows: list[Row] = []
    for name in sections:
        print(f"== section {name}: {agencies} agencies, {items:,} items", flush=True)
        rows += RUNNERS[name](agencies, items, quick, redis)
    return rows


def table(rows: list[Row], about: str) -> None:
    from rich.console import Console
    from rich.table import Table

    shown = Table(title=f"govpub platform mode (issue 18) — {about}")
    for column in ("figure", "goal", "platform", "single agency"):
        shown.add_column(column, justify="left" if column == "figure" else "right")
    for row in rows:
        shown.add_row(*row)
    Console(width=160).print(shown)


def _pair(figures: dict[str, Any]) -> str:
    return f"{figures['p50']} / {figures['p95']}"
