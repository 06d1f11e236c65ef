"""``govpub submit``, ``retract`` and ``status``: items through a running instance's API."""

from __future__ import annotations

import json
from pathlib import Path

import click

from pipeline.cli.context import token_option, url_option


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@url_option
@token_option
@click.option("--batch", default=500, show_default=True, type=click.IntRange(1, 500))
def submit(file: Path, url: str, token: str | None, batch: int) -> None:
    """Submit the items of a JSON Lines file; prints one result per item."""
    from pipeline.submit_file import submit_file

    failed = submit_file(file, url, token, batch)
    if failed:
        raise SystemExit(1)


@click.command()
@click.argument("source")
@click.argument("item_id")
@click.option("--reason", required=True, help="Why the item is withdrawn (kept in the record).")
@url_option
@token_option
def retract(source: str, item_id: str, reason: str, url: str, token: str | None) -> None:
    """Retract (撤回) an item from every channel."""
    from pipeline.client import GovpubClient

    with GovpubClient(url, token) as client:
        click.echo(json.dumps(client.retract(source, item_id, reason), ensure_ascii=False))


@click.command()
@url_option
@click.option("--json", "as_json", is_flag=True, help="{channel: {state: count}} as JSON.")
@click.option("--watch", is_flag=True, help="Keep the tables on screen, refreshed (Ctrl-C ends).")
@click.option("--interval", default=2.0, show_default=True, type=click.FloatRange(0.2), help="Seconds.")
def status(url: str, as_json: bool, watch: bool, interval: float) -> None:
    """The operations overview per channel (counts today/this week/this year, queue
    depth, oldest waiting delivery, failure rate); --watch refreshes it."""
    from pipeline.client import GovpubClient
    from pipeline.status_view import overview_tables

    with GovpubClient(url) as client:
        if as_json:
            click.echo(json.dumps(client.counts(), ensure_ascii=False, sort_keys=True))
            return
        if not watch:
            from rich.console import Console

            Console().print(overview_tables(client.overview()))
            return
        import time

        from rich.live import Live

        with Live(overview_tables(client.overview()), auto_refresh=False) as live:
            try:
                while True:
                    time.sleep(interval)
                    live.update(overview_tables(client.overview()), refresh=True)
            except KeyboardInterrupt:
                pass
