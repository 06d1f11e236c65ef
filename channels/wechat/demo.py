"""The WeChat channel's part of ``govpub demo``: an account in publish mode against the
WeChat sandbox, which calls back this channel's ``/wechat/callback/wechat`` on the demo
instance when an article is live. The sandbox's AppSecret and the callback token go in
files beside the demo's data (``secret_file``, ``token_file``: no secret in the
configuration), so ``govpub serve`` after the demo starts with the configuration the
demo wrote, without an environment variable."""

from __future__ import annotations

from pipeline.config import ChannelConfig
from pipeline.files import write_atomic
from pipeline.plugin import DemoPart, DemoSetup

NAME = "wechat"
TOKEN = "govpubdemo"


def part(setup: DemoSetup) -> DemoPart:
    from channels.wechat.sandbox import start
    from channels.wechat.sandbox_account import Config

    config = Config(callback_url=f"{setup.public_url}/wechat/callback/{NAME}", callback_token=TOKEN)
    sandbox = start(config=config)
    setup.stop.callback(sandbox.shutdown)
    secret = write_atomic(setup.folder / "wechat-sandbox-secret", config.secret.encode())
    token = write_atomic(setup.folder / "wechat-callback-token", TOKEN.encode())
    options = {
        "appid": config.appid,
        "api_base_url": sandbox.api_base_url,
        "token_file": str(token),
        "secret_file": str(secret),
        "poll_seconds": 2.0,
    }
    # the article's 阅读原文 is the item's page on the disclosure column, when it takes part
    depends_on = ["website"] if "website" in setup.kinds else []
    channel = ChannelConfig(kind="wechat", depends_on=depends_on, options=options)
    where = f"  WeChat       {sandbox.base_url}/sandbox/record  (articles at /s/…)"
    return DemoPart({NAME: channel}, (where,))
