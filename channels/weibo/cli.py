"""``govpub sandbox weibo`` and ``govpub weibo token``."""

from __future__ import annotations

import click

from pipeline.cli.context import pass_services


@click.command("weibo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8796, show_default=True)
@click.option("--app-key", default="3725600001", show_default=True)
@click.option("--app-secret", envvar="GOVPUB_WEIBO_APP_SECRET", default="sandbox-app-secret")
@click.option("--access-token", envvar="GOVPUB_WEIBO_ACCESS_TOKEN", default="2.00sandboxtoken")
@click.option("--safe-domain", default="127.0.0.1", show_default=True)
@click.option("--hourly-limit", default=30, show_default=True)
@click.option("--token-seconds", default=157_680_000.0, show_default=True)
def sandbox(
    host: str,
    port: int,
    app_key: str,
    app_secret: str,
    access_token: str,
    safe_domain: str,
    hourly_limit: int,
    token_seconds: float,
) -> None:
    """Weibo's open API on loopback (/2/, /oauth2/); posts at /sandbox."""
    from channels.weibo.sandbox import Config, serve

    config = Config(
        app_key=app_key,
        app_secret=app_secret,
        access_token=access_token,
        safe_domain=safe_domain,
        hourly_limit=hourly_limit,
        token_seconds=token_seconds,
    )
    click.echo(f"Weibo sandbox on http://{host}:{port}/ (API /2/, OAuth /oauth2/, posts /sandbox)")
    serve(host, port, config)


@click.group("weibo")
def weibo() -> None:
    """The 政务微博 channel."""


@weibo.command("token")
@click.option("--channel", "name", required=True, help="the weibo channel instance")
@click.option("--agency", default="", help="an agency with an account of its own")
@pass_services
def token(services: object, name: str, agency: str) -> None:
    """The access token's state: where it comes from, its expiry, how to re-authorise."""
    from typing import Any

    from channels.weibo.channel import WeiboChannel

    channel: Any = services.channel(name)  # type: ignore[attr-defined]
    if not isinstance(channel, WeiboChannel):
        raise click.ClickException(f"channel {name} is not a weibo channel")
    account = channel.account_for(agency) if agency else channel._accounts[""]
    row = channel.records.token(account.code)
    click.echo(f"token from:     {account.opts.token_source()}")
    if row is None:
        click.echo("expires:        not known yet (learnt at the first post)")
    else:
        renewed = "renewed" if row.refresh_token else "as configured"
        expires = f"{row.expires_at:%Y-%m-%d %H:%M} UTC" if row.expires_at else "not said"
        click.echo(f"expires:        {expires} ({renewed}, since {row.obtained_at:%Y-%m-%d %H:%M} UTC)")
    click.echo(f"re-authorise:   {account.opts.authorize_url()}")
