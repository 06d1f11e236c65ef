"""The WeChat channel's declaration (``govpub.channels`` entry point ``wechat``): the
callback ``/wechat/callback`` and the console page of the day's mass send."""

from __future__ import annotations

from pathlib import Path

from pipeline.model import ShortText
from pipeline.plugin import ChannelPlugin, ConsolePage, DemoPart, DemoSetup, ItemField, ReportRole, lazy


def _demo(setup: DemoSetup) -> DemoPart:
    from channels.wechat.demo import part

    return part(setup)


plugin = ChannelPlugin(
    kind="wechat",
    label="政务微信公众号",
    report_role=ReportRole.OTHER,
    channel=lazy("channels.wechat.channel:WeChatChannel"),
    tables=lazy("channels.wechat.tables:metadata"),
    migrations=Path(__file__).with_name("migrations"),
    routes=lazy("channels.wechat.callback:router"),
    console_pages=(
        ConsolePage(
            lazy("channels.wechat.console:router"),
            link_text="查看将要发送的内容、立即群发",
            path="/console/wechat/{name}",
            heading="今日群发",
            shown_for=lambda channel: bool(channel.batched),  # broadcast mode: a daily mass send
            templates=Path(__file__).parent / "templates",
        ),
    ),
    cli=lazy("channels.wechat.cli:wechat"),
    sandbox=lazy("channels.wechat.cli:sandbox"),
    demo=_demo,
    # an agency without an account of its own (and no use = "parent"/"platform") gets no
    # WeChat delivery: only the head of the tree publishes on the instance's own account
    agency_default="head",
    new_media=True,  # a 政务新媒体 account: watched for two weeks without a post
    item_fields={
        "wechat_title": ItemField(
            ShortText,
            "The title WeChat shows when the official title is longer than its 32 characters "
            "(govpub never shortens an official title itself).",
            hashed_when_empty=True,  # a core field until issue 17: stored hashes count it
        ),
    },
)
