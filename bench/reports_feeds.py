"""Section 5: reports and feeds (the figures: :mod:`bench.report_1m` for the annual
report, :mod:`bench.feed_regen` for the feeds)."""

from __future__ import annotations

from bench.measure import Row


def figures(quick: bool) -> list[Row]:
    from bench import feed_regen

    rows = report_figures(quick)
    if quick:
        return rows + feed_regen.figures(items=2_000, new=3, seconds=2.0)
    return rows + feed_regen.figures()


def report_figures(quick: bool) -> list[Row]:
    from bench import report_1m

    events = 20_000 if quick else 1_000_000
    result = report_1m.run(events, repeat=1 if quick else 3)
    note = f"{events:,} delivery events in the year, PostgreSQL"
    return [
        ("5 reports", "annual report counts, median", result["build_report_median"], "s", note),
        ("5 reports", "govpub report --out DIR, every format", result["cli_seconds"], "s", note),
    ]
