"""The e-mail channel's part of ``govpub demo``: the mail sandbox (STARTTLS, AUTH) in a
thread, and an instance ``email`` sending each item to two newsroom addresses as soon
as the website has it, with the subscription form at ``/subscribe/email``. The relay's
password and the link-signing key go in files beside the demo's data (no secret in the
configuration)."""

from __future__ import annotations

import secrets

from pipeline.config import ChannelConfig
from pipeline.files import write_atomic
from pipeline.plugin import DemoPart, DemoSetup

NAME = "email"
NEWSROOMS = ["news@zbrb.example.cn", "tips@zbwb.example.cn"]  # 《淄博日报》, 《淄博晚报》


def part(setup: DemoSetup) -> DemoPart:
    from channels.email.sandbox import PASSWORD, start

    relay = start(setup.folder / "email-sandbox")
    setup.stop.callback(relay.stop)
    password = write_atomic(setup.folder / "email-smtp-password", PASSWORD.encode())
    key = write_atomic(setup.folder / "email-signing-key", secrets.token_urlsafe(32).encode())
    options = relay.options(
        password_env=None,  # left out: the password is in the file
        password_file=str(password),
        signing_key_file=str(key),
        sender="gongkai@zhangdian.example.gov.cn",
        newsrooms=NEWSROOMS,
    )
    depends_on = ["website"] if "website" in setup.kinds else []
    channel = ChannelConfig(kind="email", depends_on=depends_on, options=options)
    where = (
        f"  e-mail       {relay.view_url}/  (messages received; subscribe at "
        f"{setup.public_url}/subscribe/{NAME})"
    )
    return DemoPart({NAME: channel}, (where,))
