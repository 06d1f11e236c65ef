"""The Weibo channel's part of ``govpub demo``: the platform's account against the Weibo
sandbox, its app secret and access token in files beside the demo's data (no secret in
the configuration), the sandbox's safe domain the demo's public host."""

from __future__ import annotations

from urllib.parse import urlsplit

from pipeline.config import ChannelConfig
from pipeline.files import write_atomic
from pipeline.plugin import DemoPart, DemoSetup

NAME = "weibo"


def part(setup: DemoSetup) -> DemoPart:
    from channels.weibo.sandbox import Config, start

    domain = urlsplit(setup.public_url).hostname or "127.0.0.1"
    config = Config(safe_domain=domain)
    sandbox = start(config=config)
    setup.stop.callback(sandbox.shutdown)
    secret = write_atomic(setup.folder / "weibo-app-secret", config.app_secret.encode())
    token = write_atomic(setup.folder / "weibo-access-token", config.access_token.encode())
    options = {
        "app_key": config.app_key,
        "safe_domain": domain,
        "app_secret_file": str(secret),
        "access_token_file": str(token),
        "api_base_url": sandbox.api_base_url,
        "oauth_base_url": sandbox.oauth_base_url,
        "post_url": sandbox.base_url + "/status/{id}",
    }
    channel = ChannelConfig(kind="weibo", options=options)
    where = f"  Weibo        {sandbox.base_url}/sandbox  (posts; JSON at /sandbox/record)"
    return DemoPart({NAME: channel}, (where,))
