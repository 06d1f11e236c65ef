"""The 政务微博 channel's declaration (``govpub.channels`` entry point ``weibo``):
counted under 其他渠道 (政务新媒体) with WeChat; its item field ``weibo_text``."""

from __future__ import annotations

from pathlib import Path

from pipeline.model import LongText
from pipeline.plugin import ChannelPlugin, DemoPart, DemoSetup, ItemField, ReportRole, lazy


def _demo(setup: DemoSetup) -> DemoPart:
    from channels.weibo.demo import part

    return part(setup)


plugin = ChannelPlugin(
    kind="weibo",
    label="政务微博",
    report_role=ReportRole.OTHER,
    channel=lazy("channels.weibo.channel:WeiboChannel"),
    tables=lazy("channels.weibo.tables:metadata"),
    migrations=Path(__file__).with_name("migrations"),
    cli=lazy("channels.weibo.cli:weibo"),
    sandbox=lazy("channels.weibo.cli:sandbox"),
    demo=_demo,
    # like WeChat's official accounts: a department without an account of its own (an
    # overlay) is not posted on the district's; the head of the tree is
    agency_default="head",
    new_media=True,  # a 政务新媒体 account: watched for two weeks without a post
    item_fields={
        "weibo_text": ItemField(
            LongText,
            "The Weibo post's text when the one composed from title and summary would exceed "
            "Weibo's 140 characters (the item's link is appended; govpub never cuts a text).",
        ),
    },
)
