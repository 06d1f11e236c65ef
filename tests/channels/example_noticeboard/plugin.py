"""The notice board's declaration, exported through the ``govpub.channels`` entry point
``noticeboard``. Imports nothing heavy: the channel and the sandbox load when used."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.plugin import ChannelPlugin, ReportRole

if TYPE_CHECKING:
    import click

    from pipeline.channel import Channel


def _channel() -> type[Channel]:
    from .channel import NoticeboardChannel

    return NoticeboardChannel


def _sandbox() -> click.Command:
    from .sandbox import command

    return command


plugin = ChannelPlugin(
    kind="noticeboard",
    label="电子公告屏",
    report_role=ReportRole.OTHER,  # counted under 其他渠道 in the annual report
    channel=_channel,
    sandbox=_sandbox,
)
