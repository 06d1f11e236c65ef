"""What the Weibo tests share: a sandbox on loopback, channel options pointing at it
(secrets in environment variables, as an operator sets them), the contract suite's
setup (imported by ``tests/channels/test_contract.py``) and views of the sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from channels.testing import ChannelContract, ContractSetup, accept_item, installation
from channels.weibo.sandbox import Config, SandboxServer, start
from pipeline.model import Published
from pipeline.urls import item_url

SECRET_ENV = "GOVPUB_WEIBO_APP_SECRET"
TOKEN_ENV = "GOVPUB_WEIBO_ACCESS_TOKEN"


def running(**config: Any) -> SandboxServer:
    return start(config=Config(**config))


def options(sandbox: SandboxServer, **more: Any) -> dict[str, Any]:
    return {
        "app_key": sandbox.weibo.config.app_key,
        "safe_domain": sandbox.weibo.config.safe_domain,
        "api_base_url": sandbox.api_base_url,
        "oauth_base_url": sandbox.oauth_base_url,
        "post_url": sandbox.base_url + "/status/{id}",
        **more,
    }


def secrets_env(monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer) -> None:
    monkeypatch.setenv(SECRET_ENV, sandbox.weibo.config.app_secret)
    monkeypatch.setenv(TOKEN_ENV, sandbox.weibo.config.access_token)


def record(sandbox: SandboxServer) -> dict[str, Any]:
    answer: dict[str, Any] = httpx.get(sandbox.base_url + "/sandbox/record").json()
    return answer


def control(sandbox: SandboxServer, **body: Any) -> dict[str, Any]:
    answer = httpx.post(sandbox.base_url + "/sandbox/control", json=body)
    answer.raise_for_status()
    result: dict[str, Any] = answer.json()
    return result


def live_with(sandbox: SandboxServer, link: str) -> list[dict[str, Any]]:
    """The live posts whose text carries ``link`` (an item's page)."""
    with sandbox.weibo.lock:
        return [p for p in sandbox.weibo.posts.values() if not p["deleted"] and link in p["text"]]


class TestWeiboContract(ChannelContract):
    """Live copies are counted in the sandbox: posts not deleted whose text links the item's page."""

    kind = "weibo"

    @pytest.fixture
    def contract(
        self, tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> Iterator[ContractSetup]:
        sandbox = running()
        secrets_env(monkeypatch, sandbox)
        channels = {"weibo": {"kind": "weibo", "options": options(sandbox)}}
        try:
            with installation(tmp_path, channels, database_url=db_url) as services:

                def copies(item: Published) -> int:
                    return len(
                        live_with(sandbox, item_url(services.settings, item, agencies=services.registry))
                    )

                yield ContractSetup(
                    channel=services.channel("weibo"),
                    services=services,
                    item=lambda n, **c: accept_item(services, n, **c),
                    copies=copies,
                )
        finally:
            sandbox.shutdown()
            sandbox.server_close()
