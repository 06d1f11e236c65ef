"""The WeChat channel's part of ``govpub demo``: an account in publish mode against the
WeChat sandbox, which calls back this channel's ``/wechat/callback/wechat`` on the demo
instance when an article is live. The sandbox's AppSecret and the callback token go in
files beside the demo's data (``secret_file``, ``token_file``: no secret in the
configuration), so ``govpub serve`` after the demo starts with the configuration the
demo wrote, without an environment variable.

The platform's account (the instance's options) serves the agency heading the demo;
every other demo agency gets an account of its own in the same sandbox (an overlay
``[agencies.CODE.channels.wechat]``), called back at ``/wechat/callback/wechat/{path}``."""

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
    others = [
        Config(
            appid=f"wxsandbox{n:07d}",
            secret=f"sandbox-secret-{path}",
            original_id=f"gh_sandbox{n:05d}",
            callback_url=f"{setup.public_url}/wechat/callback/{NAME}/{path}",
            callback_token=TOKEN,
        )
        for n, (_, _, path) in enumerate(setup.agencies[1:], start=2)
    ]
    sandbox = start(config=config, others=others)
    setup.stop.callback(sandbox.shutdown)
    token = write_atomic(setup.folder / "wechat-callback-token", TOKEN.encode())
    overlays: dict[str, dict[str, dict[str, object]]] = {}
    for (code, _, _), account in zip(setup.agencies[1:], others, strict=True):
        own_secret = setup.folder / f"wechat-sandbox-secret-{account.appid}"
        secret = write_atomic(own_secret, account.secret.encode())
        own = {"appid": account.appid, "secret_file": str(secret), "token_file": str(token)}
        overlays[code] = {NAME: dict[str, object](own)}
    secret = write_atomic(setup.folder / "wechat-sandbox-secret", config.secret.encode())
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
    if others:
        accounts = ", ".join([config.appid, *(a.appid for a in others)])
        where += f"; accounts {accounts}: /sandbox/record?appid=…"
    return DemoPart({NAME: channel}, (where,), overlays)
