"""A short chaos run on every CI run; the long one is ``python -m bench.chaos``."""

from __future__ import annotations

import pytest

from bench.chaos.run import Chaos, render
from bench.infra import scratch


@pytest.mark.slow
def test_short_chaos_run_keeps_every_promise() -> None:
    # A folder of its own, not pytest's tmp_path: a concurrent pytest session on the same
    # machine prunes old tmp_path folders, which would pull the private PostgreSQL's data away.
    with scratch() as root:
        tally = Chaos(root, items=60, faults=2, seed=7).run(settle_timeout=180)
    table = render(tally)
    assert len(tally.accepted) == 60, table
    assert sum(tally.faults.values()) >= 2 * 7, table
    assert not tally.broken, table
    assert tally.ssrf_tried > 0 and tally.ssrf_reached == 0, table
    assert tally.squats_tried and tally.floods_tried and tally.reads_tried, table
    assert set(tally.delivered.values()) == {60}, table
