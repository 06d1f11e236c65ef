"""The notice channel's declaration (``govpub.channels`` entry point ``notice``): printed
notices for boards (张贴公告) and reading rooms (政府信息查阅点), counted with WeChat
under 其他渠道 in the annual report."""

from __future__ import annotations

from pipeline.plugin import ChannelPlugin, DemoPart, DemoSetup, ReportRole, lazy


def _demo(setup: DemoSetup) -> DemoPart:
    from channels.notice.demo import part

    return part(setup)


plugin = ChannelPlugin(
    kind="notice",
    label="张贴公告",
    report_role=ReportRole.OTHER,
    channel=lazy("channels.notice.channel:NoticeChannel"),
    cli=lazy("channels.notice.cli:notice"),
    sandbox=lazy("channels.notice.sandbox:command"),
    demo=_demo,
)
