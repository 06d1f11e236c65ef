"""Section 3: end to end with realistic channels. Filled in once the sandboxes land."""

from __future__ import annotations

from bench.measure import Row


def end_to_end(items: int, rss: dict[str, float]) -> list[Row]:
    from bench.measure import govpub_end_to_end

    rate = govpub_end_to_end(items, 2, 2, {"delay_seconds": 0.03}, rss=rss)
    return [("3 realistic", "memory channel answering in 30 ms", rate, "items/s", "limit 4 / 0.03 s = 133/s")]
