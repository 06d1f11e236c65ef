"""``govpub ops``: an operator's console actions from a shell, through a running
``govpub serve``'s operator API (:mod:`pipeline.opsapi`) with the operator's own token.

The token (``govpub users token NAME``) comes from ``GOVPUB_OPS_TOKEN`` or a file
(``--token-file``), never from a flag: a flag's value would sit in the shell history
and in every process listing. The server decides what the token's user may see and do;
another agency's item answers "not found" here as in the console.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from pipeline.cli.context import url_option

TOKEN_ENV = "GOVPUB_OPS_TOKEN"
META = "govpub.ops"  # (url, token) for the subcommands, in click's shared meta


def _token(token_file: Path | None) -> str:
    if token_file is not None:
        token = token_file.read_text(encoding="utf-8").strip()
    else:
        token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise click.ClickException(
            f"no operator token: set {TOKEN_ENV} or give --token-file (govpub users token NAME issues one)"
        )
    return token


def _call(method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    """One request to the operator API; a refusal is the command's error (exit 1)."""
    import httpx

    from pipeline.client import raise_for_answer
    from pipeline.errors import IntakeError

    url, token_file = click.get_current_context().meta[META]
    token = _token(token_file)
    try:
        with httpx.Client(base_url=url, timeout=30.0, trust_env=False) as client:
            answer = client.request(method, path, headers={"authorization": f"Bearer {token}"}, **kwargs)
    except httpx.HTTPError as exc:
        raise click.ClickException(f"{url}: {exc}") from exc
    try:
        raise_for_answer(answer)
    except IntakeError as exc:
        raise click.ClickException(f"{exc.status} {exc.message}") from exc
    body: dict[str, Any] = answer.json()
    return body


def _show(body: dict[str, Any]) -> None:
    click.echo(json.dumps(body, ensure_ascii=False, sort_keys=True))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@url_option
@click.option(
    "--token-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=f"A file holding the operator token (else {TOKEN_ENV}).",
)
@click.pass_context
def ops(ctx: click.Context, url: str, token_file: Path | None) -> None:
    """Operator actions through a running instance (token: GOVPUB_OPS_TOKEN or --token-file)."""
    ctx.meta[META] = (url.rstrip("/"), token_file)  # the token is read when a request is made


@ops.command("whoami")
def whoami() -> None:
    """The token's user, role and agencies."""
    _show(_call("GET", "/v1/ops/whoami"))


@ops.command("items")
@click.option("-q", "--query", "q", default="", help="索引号 prefix, item id or words of the title.")
@click.option("--agency", default="", help="One of your agencies.")
@click.option("--before", type=int, default=None, help="The next page (next_before of the last).")
def items(q: str, agency: str, before: int | None) -> None:
    """Items within your reach, newest first (JSON)."""
    params: dict[str, Any] = {"q": q, "agency": agency}
    if before:
        params["before"] = before
    _show(_call("GET", "/v1/ops/items", params=params))


@ops.command("item")
@click.argument("item_pk", type=int)
def item(item_pk: int) -> None:
    """One item and its deliveries (their ids are what retry/skip/confirm/resubmit take)."""
    _show(_call("GET", f"/v1/ops/items/{item_pk}"))


@ops.command("deliveries")
@click.option("--state", default="", help="A state, or 'failing' (retrying, in doubt, dead).")
@click.option("--channel", default="")
@click.option("--agency", default="", help="One of your agencies.")
@click.option("--before", type=int, default=None)
def deliveries(state: str, channel: str, agency: str, before: int | None) -> None:
    """Deliveries within your reach, newest first (JSON)."""
    params: dict[str, Any] = {"state": state, "channel": channel, "agency": agency}
    if before:
        params["before"] = before
    _show(_call("GET", "/v1/ops/deliveries", params=params))


@ops.command("retry")
@click.argument("delivery_id", type=int)
def retry(delivery_id: int) -> None:
    """Send a failed or retrying delivery again now."""
    _show(_call("POST", f"/v1/ops/deliveries/{delivery_id}/retry"))


@ops.command("skip")
@click.argument("delivery_id", type=int)
@click.option("--reason", required=True, help="Why it is given up (kept in the record).")
def skip(delivery_id: int, reason: str) -> None:
    """Give a delivery up, with a reason."""
    path = f"/v1/ops/deliveries/{delivery_id}/skip"
    _show(_call("POST", path, json={"reason": reason}))


@ops.command("release")
@click.argument("delivery_id", type=int, required=False)
@click.option("--item", "item_pk", type=int, default=None, help="Release every held delivery of this item.")
@click.option("--reason", required=True, help="Why the findings do not stop it (kept in the audit log).")
def release(delivery_id: int | None, item_pk: int | None, reason: str) -> None:
    """Let a delivery (or an item) held by the checks go out, with a reason."""
    if (delivery_id is None) == (item_pk is None):
        raise click.UsageError("give a DELIVERY_ID or --item ITEM_PK")
    what = f"items/{item_pk}" if item_pk is not None else f"deliveries/{delivery_id}"
    _show(_call("POST", f"/v1/ops/{what}/release", json={"reason": reason}))


@ops.command("confirm")
@click.argument("delivery_id", type=int)
@click.option("--url", "link", required=True, help="The published item's link on the channel.")
@click.option("--ident", default="", help="The channel's id for it, when it needs one.")
def confirm(delivery_id: int, link: str, ident: str) -> None:
    """A delivery in doubt is on the channel: record it as delivered."""
    path = f"/v1/ops/deliveries/{delivery_id}/confirm"
    _show(_call("POST", path, json={"url": link, "ident": ident}))


@ops.command("resubmit")
@click.argument("delivery_id", type=int)
@click.option("--note", default="", help="What was checked.")
def resubmit(delivery_id: int, note: str) -> None:
    """A delivery in doubt is not on the channel: send it afresh."""
    path = f"/v1/ops/deliveries/{delivery_id}/resubmit"
    _show(_call("POST", path, json={"note": note}))


@ops.command("retract")
@click.argument("item_pk", type=int)
@click.option("--reason", required=True, help="Why the item is withdrawn (kept in the record).")
def retract(item_pk: int, reason: str) -> None:
    """Retract (撤回) an item from every channel."""
    _show(_call("POST", f"/v1/ops/items/{item_pk}/retract", json={"reason": reason}))
