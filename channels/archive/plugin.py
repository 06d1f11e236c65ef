"""The archive channel's declaration (``govpub.channels`` entry point ``archive``): one
instance per receiver, counted as 向档案馆、图书馆报送 in the annual report."""

from __future__ import annotations

from typing import Any

from pipeline.plugin import ChannelPlugin, ReportRole


def _channel() -> type[Any]:
    from channels.archive.channel import ArchiveChannel

    return ArchiveChannel


plugin = ChannelPlugin(
    kind="archive",
    label="档案馆、图书馆",
    report_role=ReportRole.DEPOSIT,
    channel=_channel,
)
