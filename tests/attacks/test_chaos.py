"""A short chaos run on every CI run; the long one is ``python -m bench.chaos``."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.chaos.run import Chaos, render


@pytest.mark.slow
def test_short_chaos_run_keeps_every_promise(tmp_path: Path) -> None:
    tally = Chaos(tmp_path, items=60, faults=2, seed=7).run(settle_timeout=180)
    table = render(tally)
    assert len(tally.accepted) == 60, table
    assert sum(tally.faults.values()) >= 2 * 7, table
    assert not tally.broken, table
    assert set(tally.delivered.values()) == {60}, table
