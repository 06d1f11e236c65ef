"""The memory channel's declaration (``govpub.channels`` entry point ``memory``)."""

from __future__ import annotations

from typing import Any

from pipeline.plugin import ChannelPlugin, ReportRole


def _channel() -> type[Any]:
    from channels.memory.channel import MemoryChannel

    return MemoryChannel


plugin = ChannelPlugin(
    kind="memory",
    label="内存渠道（测试）",
    report_role=ReportRole.OTHER,
    channel=_channel,
)
