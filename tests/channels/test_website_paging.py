"""The page arithmetic against brute force: every page that differs is rewritten or
deleted, and no page that stays the same is listed."""

from __future__ import annotations

import random

import pytest

from channels.website import paging


def pages(listing: list[int], size: int) -> dict[int, list[int]]:
    """Archive pages of a listing sorted oldest first: page k holds ranks (k-1)*size …"""
    return {k + 1: listing[k * size : (k + 1) * size] for k in range(paging.page_count(len(listing), size))}


@pytest.mark.parametrize("seed", range(300))
def test_change_lists_exactly_the_pages_that_differ(seed: int) -> None:
    rng = random.Random(seed)
    size = rng.choice([1, 2, 3, 5])
    others = sorted(rng.sample(range(0, 1000, 2), rng.randrange(0, 25)))
    old_key = rng.choice([None, rng.randrange(1, 1000, 2)])
    new_key = rng.choice([None, old_key, rng.randrange(1, 1000, 2)])
    before = sorted(others + ([old_key] if old_key is not None else []))
    # the same item with a new key (or a new title when the key is unchanged: marked -1)
    after = sorted(others + ([new_key] if new_key is not None else []))
    old_pages, new_pages = pages(before, size), pages(after, size)
    differ = {k for k in new_pages if new_pages[k] != old_pages.get(k)}
    if old_key is not None and old_key == new_key:
        differ.add(after.index(new_key) // size + 1)  # its own page shows the new revision
    gone = set(old_pages) - set(new_pages)

    rank = lambda key: sum(1 for o in others if o < key)  # noqa: E731
    change = paging.change(
        size,
        len(others),
        None if old_key is None else rank(old_key),
        None if new_key is None else rank(new_key),
    )
    assert change.total == len(after)
    assert set(change.delete) == gone
    assert differ <= set(change.write) <= set(new_pages)
    # only the pages that differ, plus the page that gains or loses its link to a newer page
    boundary = {min(len(old_pages), len(new_pages))} if len(old_pages) != len(new_pages) else set()
    assert set(change.write) <= differ | boundary


def test_spans_count_positions_from_the_newest() -> None:
    assert paging.newest_first_span(range(3, 4), total=12, size=5) == (0, 2)
    assert paging.newest_first_span(range(1, 4), total=12, size=5) == (0, 12)
    assert paging.page_positions(1, total=12, size=5) == (7, 12)
