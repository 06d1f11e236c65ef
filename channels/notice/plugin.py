"""The notice channel's declaration (``govpub.channels`` entry point ``notice``): printed
notices for boards (张贴公告) and reading rooms (政府信息查阅点), counted with WeChat
under 其他渠道 in the annual report."""

from __future__ import annotations

from pipeline.plugin import ChannelPlugin, ReportRole, lazy

plugin = ChannelPlugin(
    kind="notice",
    label="张贴公告",
    report_role=ReportRole.OTHER,
    channel=lazy("channels.notice.channel:NoticeChannel"),
    cli=lazy("channels.notice.cli:notice"),
    sandbox=lazy("channels.notice.sandbox:command"),
)
