"""The notice channel keeps the channel contract (collected in tests/channels/test_contract.py
with every built-in kind), against the sandbox: a board with a print queue and a
reading room."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from channels.testing import ChannelContract, ContractSetup, accept_item, installation
from tests.channels.notice.support import sandbox


class TestNoticeContract(ChannelContract):
    kind = "notice"

    @pytest.fixture
    def contract(self, tmp_path: Path, db_url: str) -> Iterator[ContractSetup]:
        with sandbox(tmp_path) as box:
            channels = {"notices": {"kind": "notice", "options": box.options()}}
            with installation(tmp_path, channels, database_url=db_url) as services:
                yield ContractSetup(
                    channel=services.channel("notices"),
                    services=services,
                    item=lambda n, **c: accept_item(services, n, **c),
                    copies=box.copies,
                )
