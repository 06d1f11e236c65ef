"""Fixtures of the Weibo tests: a sandbox on loopback with the secrets in the
environment, and a channel on it built the way a worker builds it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from channels.testing import ContractSetup, accept_item, installation
from channels.weibo.sandbox import SandboxServer
from tests.channels.weibo.support import options, running, secrets_env


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    server = running()
    secrets_env(monkeypatch, server)
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def weibo_for(tmp_path: Path, sandbox: SandboxServer) -> Iterator[Callable[..., ContractSetup]]:
    """``build(agencies=…, **options)``: an installation (SQLite) with channel ``weibo`` on
    the sandbox; its ``ctx()`` makes delivery attempts, ``item(n, **fields)`` items."""
    made: list[Any] = []

    def build(agencies: dict[str, Any] | None = None, **more: Any) -> ContractSetup:
        folder = tmp_path / f"install{len(made)}"
        channels = {"weibo": {"kind": "weibo", "options": options(sandbox, **more)}}
        context = installation(folder, channels, agencies=agencies or {})
        services = context.__enter__()
        made.append(context)
        return ContractSetup(
            channel=services.channel("weibo"),
            services=services,
            item=lambda n, **c: accept_item(services, n, **c),
            copies=lambda item: None,
        )

    yield build
    for context in made:
        context.__exit__(None, None, None)
