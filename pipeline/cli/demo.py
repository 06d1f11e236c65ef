"""``govpub demo``: the demo items through an embedded (or a running) instance."""

from __future__ import annotations

import click

from pipeline.cli.context import settings_or_exit, token_option


@click.command()
@click.option("--url", default=None, help="Submit to a running instance instead of an embedded one.")
@token_option
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--serve/--no-serve",
    default=True,
    show_default=True,
    help="Keep the embedded instance running after the demo items are delivered.",
)
def demo(url: str | None, token: str | None, port: int, serve: bool) -> None:
    """Submit the demo items and follow them until every channel has them."""
    from pipeline.demo_run import run_demo

    run_demo(settings_or_exit(), url, token, port, serve)
