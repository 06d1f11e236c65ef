"""Which archive pages change when one item enters, moves within or leaves a listing.

Pages are numbered from the oldest item: page ``k`` holds ranks ``(k-1)*size``
to ``k*size-1`` counted from the oldest. An item entering at rank ``r`` shifts
every newer item by one, so pages from ``r`` up to the newest change and older
pages stay as they are; an item that only changes its title changes one page.
Ranks here are counted among the *other* listed items (the item itself excluded),
which is what :meth:`Catalogue.census` answers.
"""

from __future__ import annotations

from dataclasses import dataclass


def page_of(rank: int, size: int) -> int:
    return rank // size + 1


def page_count(total: int, size: int) -> int:
    return -(-total // size)


@dataclass(frozen=True)
class Change:
    """The pages of one listing to write and to delete, and its new size."""

    total: int
    write: range
    delete: range


def change(size: int, others: int, old_rank: int | None, new_rank: int | None) -> Change:
    """``others``: listed items besides this one; ``old_rank``/``new_rank``: its rank
    before and after (None when it was not / is no longer listed here)."""
    old_total = others + (old_rank is not None)
    new_total = others + (new_rank is not None)
    old_pages, new_pages = page_count(old_total, size), page_count(new_total, size)
    if old_rank is not None and new_rank is not None:
        low, high = sorted((page_of(old_rank, size), page_of(new_rank, size)))
        write = range(low, high + 1)
    elif new_rank is not None:
        write = range(page_of(new_rank, size), new_pages + 1)
    elif old_rank is not None:
        write = range(page_of(old_rank, size), new_pages + 1)
    else:
        write = range(0)
    if old_pages != new_pages and min(old_pages, new_pages) > 0:
        # the page that was / becomes the newest archive page gains or loses its "newer" link
        boundary = min(old_pages, new_pages)
        write = range(min(write.start, boundary) if write else boundary, max(write.stop, boundary + 1))
    return Change(new_total, write, range(new_pages + 1, old_pages + 1))


def newest_first_span(pages: range, total: int, size: int) -> tuple[int, int]:
    """Positions (0 = newest) covered by ``pages``, as ``(offset, end)``."""
    if not pages:
        return (0, 0)
    return (max(total - pages[-1] * size, 0), total - (pages[0] - 1) * size)


def page_positions(number: int, total: int, size: int) -> tuple[int, int]:
    """Newest-first positions of one archive page."""
    return newest_first_span(range(number, number + 1), total, size)


def change_many(size: int, others: int, old_ranks: list[int], new_ranks: list[int]) -> Change:
    """:func:`change` for several items at once (``old_ranks`` in the listing before,
    ``new_ranks`` in the listing after). Every page from the oldest one any of them
    touches up to the newest is written: each entry or exit shifts all newer items."""
    old_total, new_total = others + len(old_ranks), others + len(new_ranks)
    old_pages, new_pages = page_count(old_total, size), page_count(new_total, size)
    touched = [page_of(r, size) for r in (*old_ranks, *new_ranks)]
    write = range(min(touched), new_pages + 1) if touched else range(0)
    if old_pages != new_pages and min(old_pages, new_pages) > 0:
        boundary = min(old_pages, new_pages)
        write = range(min(write.start, boundary) if write else boundary, max(write.stop, boundary + 1))
    return Change(new_total, write, range(new_pages + 1, old_pages + 1))
