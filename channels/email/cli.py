"""``govpub email …``: subscribers' data on request (export, erase), bounces that came
back by mail, and ``govpub sandbox email``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pipeline.cli.context import pass_services

if TYPE_CHECKING:
    from pipeline.services import Services


@click.group()
def email() -> None:
    """E-mail (邮件订阅): subscribers' data, bounces."""


@email.group()
def subscribers() -> None:
    """A subscriber's data: what is kept about an address, and forgetting it."""


@subscribers.command("export")
@click.argument("address")
@pass_services
def export(services: Services, address: str) -> None:
    """Everything kept about ADDRESS, as JSON (subscriptions and the log of messages)."""
    from channels.email.subscribers import export as export_address

    click.echo(json.dumps(export_address(services.engine, address), ensure_ascii=False, indent=2))


@subscribers.command("erase")
@click.argument("address")
@click.option("--yes", is_flag=True, help="Do not ask.")
@pass_services
def erase(services: Services, address: str, yes: bool) -> None:
    """Forget ADDRESS: its subscriptions on every instance and the log of what it was sent."""
    from channels.email.subscribers import erase as erase_address

    if not yes:
        click.confirm(f"forget {address} for good?", abort=True)
    subs, sent = erase_address(services.engine, address)
    click.echo(f"erased {address}: {subs} subscription(s), {sent} logged message(s)")


@email.command("bounce")
@click.argument("message", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_services
def bounce(services: Services, message: Path) -> None:
    """Apply a bounce (a delivery status notification saved as MESSAGE): a permanent
    failure stops messages to that address on every e-mail instance."""
    from channels.email.bounces import parse
    from channels.email.subscribers import bounced_everywhere

    found = parse(message.read_bytes())
    if not found:
        raise click.ClickException(
            f"{message}: no failed recipient in it (not a delivery status notification?)"
        )
    for b in found:
        if b.permanent:
            stopped = bounced_everywhere(services.engine, b.address, services.clock())
            click.echo(f"{b.address}: {b.status} permanent; {stopped} subscription(s) stopped")
        else:
            click.echo(f"{b.address}: {b.status} transient; nothing changed")


@click.command("email")
@click.option("--port", default=8825, show_default=True, help="The SMTP port.")
@click.option("--view-port", default=8826, show_default=True, help="The HTTP view of received messages.")
@click.option(
    "--security", type=click.Choice(["starttls", "ssl", "none"]), default="starttls", show_default=True
)
@click.option(
    "--folder",
    type=click.Path(path_type=Path),
    default=Path("sandbox-email"),
    show_default=True,
    help="Where its self-signed certificate goes (tls_ca_file).",
)
def sandbox(port: int, view_port: int, security: str, folder: Path) -> None:
    """A mail relay on 127.0.0.1 (aiosmtpd: STARTTLS/SMTPS, AUTH sandbox/sandbox-password)
    recording what it receives; misbehaviour by POST /control on the view."""
    import threading

    from channels.email.sandbox import PASSWORD, USERNAME, start

    relay = start(folder, security=security, smtp_port=port, http_port=view_port)
    click.echo(f"SMTP on 127.0.0.1:{relay.smtp_port} ({security}), AUTH {USERNAME} / {PASSWORD}")
    click.echo(f"certificate (tls_ca_file): {relay.cert_file}")
    click.echo(f"received messages: {relay.view_url}/ (JSON: /messages)")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        relay.stop()
