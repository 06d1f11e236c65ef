"""Delivery counts and the operations overview as terminal tables (``govpub status``)."""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.table import Table

from pipeline.overview import coarse_age
from pipeline.states import ACTIVE_STATES, STATES

PERIODS = {"today": "today", "week": "this week", "year": "this year"}


def counts_table(counts: dict[str, dict[str, int]]) -> Table:
    table = Table(title="govpub deliveries")
    table.add_column("channel")
    for state in STATES:
        table.add_column(state, justify="right")
    for channel, states in sorted(counts.items()):
        table.add_row(channel, *(str(states.get(s, 0)) for s in STATES))
    return table


def print_counts(counts: dict[str, dict[str, int]]) -> None:
    Console().print(counts_table(counts))


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    amount, unit = coarse_age(seconds)
    return f"{amount}{unit}"


def overview_tables(overview: dict[str, Any]) -> Group:
    """What the console's overview shows: health per channel, then counts per period."""
    health = Table(title=f"govpub channels — {overview['generated_at']} ({overview['timezone']})")
    for column in (
        "channel",
        "kind",
        "queue",
        "waiting",
        "oldest waiting",
        "failures 24h",
        "dead",
        "last delivered",
    ):
        health.add_column(
            column, justify="left" if column in ("channel", "kind", "last delivered") else "right"
        )
    periods = Table(title="deliveries by state, counted by acceptance time")
    periods.add_column("channel")
    periods.add_column("period")
    for state in STATES:
        periods.add_column(state, justify="right")
    for ch in overview["channels"]:
        year = ch["year"]
        oldest = ch["oldest_waiting"] or {}
        rate = ch["failure_rate"]
        last = ch["last_delivered"] or {}
        health.add_row(
            ch["name"],
            ch["kind"] + ("" if ch["enabled"] else " (off)"),
            "n/a" if ch["queue_depth"] is None else str(ch["queue_depth"]),
            str(sum(year.get(s, 0) for s in ACTIVE_STATES)),
            f"#{oldest['id']} {_age(oldest['age_seconds'])}" if oldest else "-",
            "-" if rate is None else f"{rate:.1%} of {ch['attempts_24h']}",
            str(year.get("dead", 0)),
            str(last.get("delivered_at") or "-")[:19],
        )
        for key, label in PERIODS.items():
            periods.add_row(
                ch["name"] if key == "today" else "", label, *(str(ch[key].get(s, 0)) for s in STATES)
            )
    return Group(health, periods)
