"""The WeChat channel (publish mode) through the shared channel contract.

WeChat confirms a publication asynchronously: an attempt ends with
``AwaitingConfirmation`` and the runner asks again later. The contract calls
``publish`` once and expects a reference, so the channel is wrapped in a loop that
asks again with the same delivery (its checkpoints), as the re-polling runner does.
Live copies are counted in the sandbox: articles whose 阅读原文 is the item's page
and that were not deleted.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from channels.base import DeliveryContext, Ref
from channels.sandboxes.wechat import SandboxServer
from channels.wechat.channel import WeChatChannel
from pipeline.errors import AwaitingConfirmation
from pipeline.model import Published
from pipeline.services import Services
from pipeline.urls import item_url
from tests.channels.contract import ChannelContract, ContractSetup, accept_item


class Confirmed(WeChatChannel):
    """Asks again while WeChat is still publishing, as the runner's re-polls would."""

    def publish(self, item: Published, ctx: DeliveryContext) -> Ref:
        return self._until_confirmed(lambda: super(Confirmed, self).publish(item, ctx))

    def update(self, item: Published, previous: Ref, ctx: DeliveryContext) -> Ref:
        return self._until_confirmed(lambda: super(Confirmed, self).update(item, previous, ctx))

    @staticmethod
    def _until_confirmed(call: Any) -> Ref:
        deadline = time.monotonic() + 30
        while True:
            try:
                ref: Ref = call()
                return ref
            except AwaitingConfirmation:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)


def live_copies(sandbox: SandboxServer, services: Services, item: Published) -> int:
    url = item_url(services.settings, item)
    with sandbox.account.lock:
        return sum(
            1
            for art in sandbox.account.articles.values()
            for idx, article in enumerate(art["articles"], start=1)
            if article.get("content_source_url") == url and idx not in art["deleted"]
        )


class TestWeChatContract(ChannelContract):
    @pytest.fixture
    def contract(self, services: Services, sandbox: SandboxServer) -> ContractSetup:
        options = {"appid": sandbox.account.config.appid, "api_base_url": sandbox.api_base_url}
        return ContractSetup(
            channel=Confirmed("wechat", options, services),
            services=services,
            item=lambda n, **changes: accept_item(services, n, **changes),
            copies=lambda item: live_copies(sandbox, services, item),
        )
