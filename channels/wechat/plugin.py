"""The WeChat channel's declaration (``govpub.channels`` entry point ``wechat``): the
callback ``/wechat/callback`` and the console page of the day's mass send."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.model import ShortText
from pipeline.plugin import ChannelPlugin, ConsolePage, DemoPart, DemoSetup, ItemField, ReportRole

if TYPE_CHECKING:
    import click
    from fastapi import APIRouter
    from sqlalchemy import MetaData


def _channel() -> type[Any]:
    from channels.wechat.channel import WeChatChannel

    return WeChatChannel


def _callback() -> APIRouter:
    from channels.wechat.callback import router

    return router


def _send_page() -> APIRouter:
    from channels.wechat.console import router

    return router


def _cli() -> click.Command:
    from channels.wechat.cli import wechat

    return wechat


def _sandbox() -> click.Command:
    from channels.wechat.cli import sandbox

    return sandbox


def _demo(setup: DemoSetup) -> DemoPart:
    from channels.wechat.demo import part

    return part(setup)


def _tables() -> MetaData:
    from channels.wechat.tables import metadata

    return metadata


plugin = ChannelPlugin(
    kind="wechat",
    label="政务微信公众号",
    report_role=ReportRole.OTHER,
    channel=_channel,
    tables=_tables,
    migrations=Path(__file__).with_name("migrations"),
    routes=_callback,
    console_pages=(
        ConsolePage(
            _send_page,
            link_text="查看将要发送的内容、立即群发",
            path="/console/wechat/{name}",
            heading="今日群发",
            shown_for=lambda channel: bool(channel.batched),  # broadcast mode: a daily mass send
            templates=Path(__file__).parent / "templates",
        ),
    ),
    cli=_cli,
    sandbox=_sandbox,
    demo=_demo,
    item_fields={
        "wechat_title": ItemField(
            ShortText,
            "The title WeChat shows when the official title is longer than its 32 characters "
            "(govpub never shortens an official title itself).",
            hashed_when_empty=True,  # a core field until issue 17: stored hashes count it
        ),
    },
)
