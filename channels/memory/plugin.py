"""The memory channel's declaration (``govpub.channels`` entry point ``memory``)."""

from __future__ import annotations

from pipeline.plugin import ChannelPlugin, ReportRole, lazy

plugin = ChannelPlugin(
    kind="memory",
    label="内存渠道（测试）",
    report_role=ReportRole.OTHER,
    channel=lazy("channels.memory.channel:MemoryChannel"),
)
