"""Fixtures of a running platform (tests/platform/stack.py): ``platform_stack`` (the
default: two agencies under the district, a source bound to each, ``govpub serve`` and
a Celery worker on PostgreSQL and Redis) and ``platform_for`` (a factory for other
shapes). Tests elsewhere import them: ``from tests.platform.conftest import
platform_for, platform_stack  # noqa: F401``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.platform.stack import PlatformStack, build_stack


@pytest.fixture
def platform_for(tmp_path: Path, pg_url: str, redis_url: str) -> Iterator[Callable[..., PlatformStack]]:
    """``platform_for(tenants=…, channels=…, agencies=…, workers=…, **settings)``: a
    stack under its own folder; every one made is stopped after the test."""
    made: list[PlatformStack] = []

    def build(**options: Any) -> PlatformStack:
        root = tmp_path / f"platform-{len(made)}"
        stack = build_stack(root, options.pop("database_url", pg_url), redis_url, **options)
        made.append(stack)
        return stack

    yield build
    for stack in made:
        stack.http.close()
        stack.cluster.stop()


@pytest.fixture
def platform_stack(platform_for: Callable[..., PlatformStack]) -> PlatformStack:
    """The default platform: tenants ``a`` and ``b``, one memory channel, a worker."""
    return platform_for()
