"""Fixtures of the e-mail tests: the mail sandbox on loopback and an installation (on
SQLite) with an e-mail instance pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from channels.email.channel import EmailChannel
from channels.email.sandbox import MailSandbox, start
from channels.testing import installation
from pipeline.services import Services
from tests.channels.email.support import options, secrets_in_env


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[MailSandbox]:
    server = start(tmp_path / "relay")
    yield server
    server.stop()


@pytest.fixture
def mail(
    tmp_path: Path, relay: MailSandbox, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., tuple[Services, EmailChannel]]]:
    """``mail(**options)``: services with instance ``mail`` on the relay, and the channel."""
    secrets_in_env(monkeypatch)
    made: list[Any] = []

    def build(**more: Any) -> tuple[Services, EmailChannel]:
        channels = {"mail": {"kind": "email", "options": options(relay, **more)}}
        context = installation(tmp_path / f"i{len(made)}", channels)
        services = context.__enter__()
        made.append(context)
        channel = services.channel("mail")
        assert isinstance(channel, EmailChannel)
        return services, channel

    yield build
    for context in made:
        context.__exit__(None, None, None)
