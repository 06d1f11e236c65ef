"""The feed channel keeps the channel contract (tests/channels/contract.py)."""

from __future__ import annotations

from pathlib import Path

import feedparser
import pytest

from channels.feed.channel import FeedChannel
from pipeline.model import Published
from pipeline.services import Services
from tests.channels.contract import ChannelContract, ContractSetup, accept_item


class TestFeedContract(ChannelContract):
    @pytest.fixture
    def contract(self, services: Services, tmp_path: Path) -> ContractSetup:
        folder = tmp_path / "feeds"
        channel = FeedChannel("feed", {"output_dir": str(folder)}, services)

        def copies(item: Published) -> int:
            """Entries of the item in both formats of the feed of every item, halved
            (no file yet: nothing was ever published)."""
            files = [folder / f"all.{fmt}" for fmt in ("rss", "atom")]
            found = [
                entry.id
                for path in files
                if path.exists()
                for entry in feedparser.parse(path.read_bytes()).entries
            ]
            return sum(1 for entry_id in found if entry_id.endswith(":" + item.index_no)) // 2

        return ContractSetup(channel, services, lambda n, **c: accept_item(services, n, **c), copies)
