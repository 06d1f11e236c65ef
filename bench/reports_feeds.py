"""Section 5: reports and feeds (the feed figures: :mod:`bench.feed_regen`)."""

from __future__ import annotations

from bench.measure import Row


def figures(quick: bool) -> list[Row]:
    from bench import feed_regen

    if quick:
        return feed_regen.figures(items=2_000, new=3, seconds=2.0)
    return feed_regen.figures()
