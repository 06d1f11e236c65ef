"""Batches of deliveries for a channel that handles several in one call
(``Channel.max_batch > 1``).

A batch may hold two deliveries of one item (its publication and then its retraction,
or two revisions): they must reach the channel in order, so :func:`runs` cuts the batch
wherever an item comes back, and the channel handles each run as one batch.
:func:`answer_one` gives the per-item contract's answer of a one-entry batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from pipeline.channel import BatchEntry, Ref

Answers = dict[int, Ref | Exception | None]


def runs(entries: list[BatchEntry]) -> Iterator[list[BatchEntry]]:
    """Consecutive slices of ``entries`` in which no item appears twice."""
    run: list[BatchEntry] = []
    seen: set[str] = set()
    for entry in entries:
        if entry.item.index_no in seen:
            yield run
            run, seen = [], set()
        run.append(entry)
        seen.add(entry.item.index_no)
    if run:
        yield run


def each_run(entries: list[BatchEntry], handle: Callable[[list[BatchEntry]], Answers]) -> Answers:
    """``handle`` every run of the batch in order; their answers together."""
    answers: Answers = {}
    for run in runs(entries):
        answers.update(handle(run))
    return answers


def answer_one(handle: Callable[[list[BatchEntry]], Answers], entry: BatchEntry) -> Ref | None:
    """The answer of a batch of just ``entry``, as the per-item calls give it: a
    reference or None, or the entry's error raised."""
    answer = handle([entry]).get(entry.ctx.delivery_id)
    if isinstance(answer, Exception):
        raise answer
    return answer
