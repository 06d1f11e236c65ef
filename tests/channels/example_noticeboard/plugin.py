"""The notice board's declaration, exported through the ``govpub.channels`` entry point
``noticeboard``. Imports nothing heavy: the channel and the sandbox load when used."""

from __future__ import annotations

from pipeline.plugin import ChannelPlugin, ReportRole, lazy

plugin = ChannelPlugin(
    kind="noticeboard",
    label="电子公告屏",
    report_role=ReportRole.OTHER,  # counted under 其他渠道 in the annual report
    channel=lazy("tests.channels.example_noticeboard.channel:NoticeboardChannel"),
    sandbox=lazy("tests.channels.example_noticeboard.sandbox:command"),
)
