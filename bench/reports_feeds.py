"""Section 5: reports and feeds. Filled in once those land."""

from __future__ import annotations

from bench.measure import Row


def figures(quick: bool) -> list[Row]:
    return []
