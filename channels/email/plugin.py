"""The e-mail channel's declaration (``govpub.channels`` entry point ``email``): the
subscription pages under ``/subscribe/``, ``govpub email …``, ``govpub sandbox email``;
counted under 其他渠道 in the annual report."""

from __future__ import annotations

from pathlib import Path

from pipeline.plugin import ChannelPlugin, DemoPart, DemoSetup, ReportRole, lazy


def _demo(setup: DemoSetup) -> DemoPart:
    from channels.email.demo import part

    return part(setup)


plugin = ChannelPlugin(
    kind="email",
    label="邮件订阅",
    report_role=ReportRole.OTHER,
    channel=lazy("channels.email.channel:EmailChannel"),
    tables=lazy("channels.email.tables:metadata"),
    migrations=Path(__file__).with_name("migrations"),
    routes=lazy("channels.email.routes:router"),
    cli=lazy("channels.email.cli:email"),
    sandbox=lazy("channels.email.cli:sandbox"),
    demo=_demo,
)
