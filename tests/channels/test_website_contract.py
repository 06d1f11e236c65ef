"""Both website adapters keep the channel contract (tests/channels/contract.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from channels.sandboxes.cms import Cms
from channels.website import WebsiteChannel
from pipeline.model import Published
from pipeline.services import Services
from tests.channels.contract import ChannelContract, ContractSetup, accept_item
from tests.channels.website_helpers import cms_options, running_cms


class TestStaticSiteContract(ChannelContract):
    @pytest.fixture
    def contract(self, services: Services, tmp_path: Path) -> ContractSetup:
        folder = tmp_path / "site"
        channel = WebsiteChannel("website", {"output_dir": str(folder)}, services)

        def copies(item: Published) -> int:
            """Entries of the item in the search index (one per listed item)."""
            shard = folder / f"search/{item.generated_on.year}.json"
            entries = json.loads(shard.read_text()) if shard.exists() else []
            return sum(1 for e in entries if e["n"] == item.index_no)

        return ContractSetup(channel, services, lambda n, **c: accept_item(services, n, **c), copies)


class TestCmsPushContract(ChannelContract):
    @pytest.fixture
    def sandbox(self) -> Iterator[tuple[str, Cms]]:
        with running_cms() as running:
            yield running

    @pytest.fixture
    def contract(self, services: Services, sandbox: tuple[str, Cms]) -> ContractSetup:
        url, cms = sandbox
        channel = WebsiteChannel("website", cms_options(url), services)
        return ContractSetup(
            channel,
            services,
            lambda n, **c: accept_item(services, n, **c),
            lambda item: sum(1 for key in cms.documents if key == item.index_no),
        )
