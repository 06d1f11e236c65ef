"""What the e-mail tests share: the mail sandbox on loopback, the channel's options
pointing at it (secrets in variables of the test), the messages it recorded, and the
contract suite's setup (run from tests/channels/test_contract.py with the others)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from channels.email.sandbox import PASSWORD, MailSandbox, start
from channels.testing import ChannelContract, ContractSetup, accept_item, installation
from pipeline.model import Published

KEY = "test-signing-key-0123456789"
SENDER = "gongkai@zhangdian.example.gov.cn"
DESK = "desk@zbrb.example.cn"


def secrets_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVPUB_EMAIL_SMTP_PASSWORD", PASSWORD)
    monkeypatch.setenv("GOVPUB_EMAIL_SIGNING_KEY", KEY)


def options(relay: MailSandbox, **more: Any) -> dict[str, Any]:
    return relay.options(**{"sender": SENDER, "newsrooms": [DESK], **more})


def messages(relay: MailSandbox, to: str | None = None, index_no: str | None = None) -> list[dict[str, Any]]:
    """What the relay accepted, in order (to one address, of one item)."""
    return [
        m
        for m in relay.box.snapshot()
        if (to is None or to in m["to"])
        and (index_no is None or m["headers"].get("X-Govpub-Index-No") == index_no)
    ]


def live_copies(relay: MailSandbox, item: Published, to: str = DESK) -> int:
    """Copies of the item's latest message in a mailbox: 0 once a retraction notice is
    the latest; otherwise how many times that very message (its Message-ID) arrived."""
    found = messages(relay, to, item.index_no)
    if not found or found[-1]["headers"].get("X-Govpub-Retraction"):
        return 0
    return sum(1 for m in found if m["message_id"] == found[-1]["message_id"])


class EmailContract(ChannelContract):
    """The contract, on an instance sending per item to a newsroom over STARTTLS + AUTH."""

    kind = "email"

    @pytest.fixture
    def relay(self, tmp_path: Path) -> Iterator[MailSandbox]:
        server = start(tmp_path / "relay")
        yield server
        server.stop()

    @pytest.fixture
    def contract(
        self, tmp_path: Path, db_url: str, relay: MailSandbox, monkeypatch: pytest.MonkeyPatch
    ) -> Iterator[ContractSetup]:
        secrets_in_env(monkeypatch)
        channels = {"mail": {"kind": "email", "options": options(relay, digest=False)}}
        with installation(tmp_path, channels, database_url=db_url) as services:
            yield ContractSetup(
                channel=services.channel("mail"),
                services=services,
                item=lambda n, **c: accept_item(services, n, wanted={"mail": True}, **c),
                copies=lambda item: live_copies(relay, item),
            )
