"""The one rule for skipped tests: where nothing may be skipped, a skip is a failure.

A test that skips because Chromium, nginx, sshd, a database or a tool is missing
proves nothing, and a green run that skipped it hides that. So whenever ``CI`` is set
(CI sets it; ``./run check``, the README's "nothing skipped" command, sets it too),
every skip, whether ``pytest.skip``, ``importorskip``, a ``skipif`` mark or a whole
module skipped at collection, turns into a failure that keeps the skip's reason.
Without ``CI`` (a developer running a few tests by hand) a skip stays a skip.

No skip is exempt today; an exemption would have to be named here, with its reason.
An expected failure (``xfail``) is not a skip and is left alone.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

import pytest

OFF = ("", "0", "false", "no")


def forbidden() -> bool:
    """Whether this run may skip nothing."""
    return os.environ.get("CI", "").strip().lower() not in OFF


def _reason(longrepr: Any) -> str:
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _fail(report: Any) -> None:
    reason = _reason(report.longrepr)
    report.outcome = "failed"
    report.longrepr = f"skipped, but nothing may be skipped where CI is set (CI, ./run check): {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail") and forbidden():
        _fail(report)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    if report.skipped and forbidden():
        _fail(report)
