"""``govpub wechat``: what an operator does for a WeChat channel from the shell.

- ``confirm`` / ``resubmit``: settle a delivery in doubt (a ``freepublish/submit`` whose
  answer was lost on an account that cannot list its publications): the article is in
  the publish list (confirm it with its link and ``article_id``), or it is not
  (resubmit it). See :mod:`pipeline.doubt`.
- ``broadcast --preview`` / ``--now``: the coming mass send (which articles, in which
  order, what waits for the next window and why), and sending it at once.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from pipeline.cli.context import pass_services

if TYPE_CHECKING:
    from pipeline.services import Services


@click.group()
def wechat() -> None:
    """WeChat official accounts (微信公众号): deliveries in doubt and the daily mass send."""


def _enqueue(services: Services, work: list[tuple[int, str]]) -> None:
    """Hand the work to the workers now (the sweeper would, within requeue_after_seconds)."""
    if not work or not services.settings.broker_url:
        return
    from pipeline.queue import CeleryDispatcher, create_celery

    CeleryDispatcher(create_celery(services)).send(work)


@wechat.command("confirm")
@click.argument("delivery", type=int)
@click.option("--article-url", required=True, help="The article's link, as 发表记录 shows it.")
@click.option("--article-id", default="", help="Its article_id, so that govpub can replace or delete it.")
@click.option("--operator", default="cli", show_default=True, help="Who checked (for the delivery log).")
@pass_services
def confirm(services: Services, delivery: int, article_url: str, article_id: str, operator: str) -> None:
    """The article of a delivery in doubt IS in the account's publish list: record it."""
    from pipeline import doubt

    try:
        ref = doubt.confirm(services, delivery, f"cli:{operator}", article_url, article_id)
    except doubt.NotInDoubt as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"delivery {delivery} delivered: {ref['article_url']}")


@wechat.command("resubmit")
@click.argument("delivery", type=int)
@click.option("--note", required=True, help="What you checked, e.g. 'not in 发表记录 on 5 May'.")
@click.option("--operator", default="cli", show_default=True, help="Who checked (for the delivery log).")
@pass_services
def resubmit(services: Services, delivery: int, note: str, operator: str) -> None:
    """The article of a delivery in doubt is NOT in the publish list: submit it afresh."""
    from pipeline import doubt

    try:
        channel = doubt.resubmit(services, delivery, f"cli:{operator}", note)
    except doubt.NotInDoubt as exc:
        raise click.ClickException(str(exc)) from exc
    _enqueue(services, [(delivery, channel)])
    click.echo(f"delivery {delivery} queued to be submitted again")


def _broadcast_channel(services: Services, name: str | None) -> Any:
    names = sorted(
        n
        for n, cfg in services.settings.channels.items()
        if cfg.kind == "wechat" and n in services.settings.enabled_channels() and services.channel(n).batched
    )
    if name is None and len(names) == 1:
        name = names[0]
    if name not in names:
        raise click.ClickException(
            f"name a WeChat channel in broadcast mode with --channel: {names or 'none'}"
        )
    return services.channel(name)


@wechat.command("broadcast")
@click.option("--channel", "name", help="The WeChat channel (default: the only one in broadcast mode).")
@click.option(
    "--account",
    "path",
    default=None,
    help="An agency's own account on the channel (its column path or code; default: the channel's own).",
)
@click.option("--preview", "mode", flag_value="preview", default=True, help="Show the coming send (default).")
@click.option("--now", "mode", flag_value="now", help="Send today's mass send now, with what is ready.")
@click.option("--operator", default="cli", show_default=True, help="Who ordered it (for the record).")
@click.option("--json", "as_json", is_flag=True, help="As JSON.")
@pass_services
def broadcast(
    services: Services, name: str | None, path: str | None, mode: str, operator: str, as_json: bool
) -> None:
    """Today's mass send (群发) of one account: what goes, in which order, when; or send it now."""
    from channels.wechat.channel import SendNowRefused

    channel = _broadcast_channel(services, name)
    account = channel.own if path is None else channel.account_by_path(path)
    if account is None:
        known = [a.path for a in channel.accounts() if a.code]
        raise click.ClickException(
            f"channel {channel.name} has no account {path}: {known or 'none but its own'}"
        )
    try:
        if mode == "now":
            woken = channel.send_now(f"cli:{operator}", account.code)
            _enqueue(services, [(d, channel.name) for d in woken])
            click.echo(
                f"send-now ordered for {channel.name} ({account.label}): {len(woken)} deliveries woken"
            )
        view = channel.coming_send(account.code)
    except SendNowRefused as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(_dump(view) if as_json else _describe(view))


def _describe(view: dict[str, Any]) -> str:
    lines = [
        f"{view['channel']} ({view['account_label']}): the {view['window']} mass send — {view['state']}",
        f"  gathered {view['cutoff']}, "
        + (
            f"previewed {view['preview_at']} to {', '.join(view['preview_to'])}, "
            if view["preview_at"]
            else ""
        )
        + f"sent {view['send_at']}"
        + (f" (send-now ordered {view['send_now_ordered']})" if view["send_now_ordered"] else ""),
    ]
    if view.get("why"):
        lines.append(f"  {view['why']}; the next is gathered {view['next_cutoff']}")
    if view.get("msg_id"):
        lines.append(f"  msg_id {view['msg_id']}")
    for article in view.get("articles", []):
        lines.append(f"  {article['index']}. {article['title']}  (delivery {article['delivery_id']})")
    for key, label in (
        ("over_limit", f"over the {view['max_articles']} articles: next window"),
        ("after_cutoff", "accepted after the cut-off: next window"),
        ("waiting_for_page", "still waiting for the website page: next window unless ready at the cut-off"),
        ("next_window", "waiting for the next window"),
    ):
        for w in view.get(key, []):
            lines.append(f"  - {w['title']}  (delivery {w['delivery_id']}): {label}")
    for p in view.get("previews", []):
        lines.append(f"  preview to {p['recipient']} {p['at']}" + (f": {p['error']}" if p["error"] else ""))
    return "\n".join(lines)


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


@click.command("wechat")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8090, show_default=True, type=int)
@click.option(
    "--appid",
    "appids",
    multiple=True,
    default=("wxsandbox0000001",),
    show_default=True,
    help="An account's appid; repeat it for several accounts (platform mode), each with its own "
    "tokens, quotas and record.",
)
@click.option("--secret", envvar="GOVPUB_WECHAT_SECRET", default="sandbox-secret", show_default=True)
@click.option("--account-type", type=click.Choice(["subscription", "service"]), default="subscription")
@click.option(
    "--callback-url",
    "callback_urls",
    multiple=True,
    help="Where to POST PUBLISHJOBFINISH/MASSSENDJOBFINISH events; repeated, the n-th is the n-th "
    "appid's (govpub: /wechat/callback/CHANNEL/ACCOUNT-PATH).",
)
@click.option("--callback-token", default="", help="The token the callback is signed with.")
@click.option("--encoding-aes-key", default="", help="Safe mode: encrypt callbacks with this key.")
@click.option("--publish-delay", default=1.0, show_default=True, type=float, help="Seconds until a result.")
def sandbox(
    host: str,
    port: int,
    appids: tuple[str, ...],
    secret: str,
    account_type: str,
    callback_urls: tuple[str, ...],
    callback_token: str,
    encoding_aes_key: str,
    publish_delay: float,
) -> None:
    """A WeChat official-account API (tokens, drafts, publish, mass send) on loopback."""
    from channels.wechat.sandbox import serve
    from channels.wechat.sandbox_account import Config

    if len(set(appids)) != len(appids):
        raise click.BadParameter("an appid given twice", param_hint="--appid")
    if len(callback_urls) > len(appids):
        raise click.BadParameter(
            f"{len(callback_urls)} callback URLs for {len(appids)} appids", param_hint="--callback-url"
        )
    configs = [
        Config(
            appid=appid,
            secret=secret,
            account_type=account_type,
            callback_url=callback_urls[n] if n < len(callback_urls) else "",
            callback_token=callback_token,
            encoding_aes_key=encoding_aes_key,
            publish_delay=publish_delay,
            original_id=f"gh_sandbox{n + 1:05d}",
        )
        for n, appid in enumerate(appids)
    ]
    click.echo(
        f"WeChat sandbox on http://{host}:{port}/cgi-bin/ (appid {', '.join(appids)}); control at /sandbox/"
    )
    serve(host, port, configs[0], configs[1:])
