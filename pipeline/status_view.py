"""Delivery counts as a terminal table."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from pipeline.db import STATES


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
