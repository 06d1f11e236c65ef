"""``python -m bench``: govpub's performance figures, measured side by side in one run.

    python -m bench            # the full run (tens of minutes)
    python -m bench --quick    # a smoke run for CI, under two minutes; not for figures
    python -m bench --json out.json --only 1,2
    python -m bench --only 1 --profile var/profile   # where a delivery's time goes (py-spy)

Starts what it needs on this machine (PostgreSQL and Redis if not running, fresh
databases, workers, serve, sandboxes) and prints a table plus the machine's cores
and versions, so runs can be compared.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench import measure
from bench.infra import ensure_services
from pipeline.logs import configure as configure_logs

Section = Callable[[bool], list[measure.Row]]


def sections(rss: dict[str, float], profile_to: Path | None = None) -> dict[str, Section]:
    """Each section takes ``quick`` and returns its rows."""
    from bench import archive_export, realistic, reports_feeds, steady, wechat

    return {
        "1": lambda quick: measure.queue_overhead(100 if quick else 2000, profile_to=profile_to),
        "2": lambda quick: measure.intake(100 if quick else 2000),
        "3": lambda quick: realistic.end_to_end(60 if quick else 5000, rss),
        "4": lambda quick: measure.scaling(40 if quick else 400),
        "5": lambda quick: reports_feeds.figures(quick),
        "6": lambda quick: [
            ("6 memory", f"peak RSS of {role}", mb, "MiB", "during section 3")
            for role, mb in sorted(rss.items())
        ],
        "7": wechat.figures,
        "8": archive_export.figures,
        "9": steady.figures,
    }


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {p: version(p) for p in ("govpub", "celery", "redis", "SQLAlchemy", "psycopg")},
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def render(rows: list[measure.Row], about: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"govpub benchmark — {about['cores']} cores, Python {about['python']}")
    for column in ("section", "measure", "value", "unit", "note"):
        table.add_column(column, justify="right" if column == "value" else "left")
    for section, name, value, unit, note in rows:
        table.add_row(section, name, f"{value:,.1f}", unit, note)
    console = Console(width=140)
    console.print(table)
    console.print(about["versions"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smoke run for CI (no figures)")
    parser.add_argument("--only", default="1,2,3,4,5,6,7,8,9", help="comma-separated section numbers")
    parser.add_argument("--json", metavar="FILE", help="also write the rows and machine as JSON")
    parser.add_argument(
        "--profile", metavar="DIR", help="sample section 1's workers with py-spy; stacks go to DIR"
    )
    args = parser.parse_args(argv)
    configure_logs(level=logging.ERROR)  # sections that run govpub in this process: no log per delivery
    ensure_services()
    rss: dict[str, float] = {}
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    rows: list[measure.Row] = []
    available = sections(rss, Path(args.profile) if args.profile else None)
    for key in chosen:
        started = time.perf_counter()
        print(f"section {key}…", file=sys.stderr, flush=True)
        rows += available[key](args.quick)
        print(f"section {key} took {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    about = machine()
    render(rows, about)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(
                {
                    "machine": about,
                    "quick": args.quick,
                    "rows": [
                        dict(zip(("section", "measure", "value", "unit", "note"), r, strict=True))
                        for r in rows
                    ],
                },
                out,
                ensure_ascii=False,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
