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
from typing import Any

import click


@click.group()
def wechat() -> None:
    """WeChat official accounts (微信公众号): deliveries in doubt and the daily mass send."""


def _services() -> Any:
    from pipeline.cli import prepare_database, settings_or_exit
    from pipeline.services import build_services

    services = build_services(settings_or_exit())
    prepare_database(services)
    return services


def _enqueue(services: Any, work: list[tuple[int, str]]) -> None:
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
def confirm(delivery: int, article_url: str, article_id: str, operator: str) -> None:
    """The article of a delivery in doubt IS in the account's publish list: record it."""
    from pipeline import doubt

    services = _services()
    try:
        ref = doubt.confirm(services, delivery, f"cli:{operator}", article_url, article_id)
    except doubt.NotInDoubt as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"delivery {delivery} delivered: {ref['article_url']}")


@wechat.command("resubmit")
@click.argument("delivery", type=int)
@click.option("--note", required=True, help="What you checked, e.g. 'not in 发表记录 on 5 May'.")
@click.option("--operator", default="cli", show_default=True, help="Who checked (for the delivery log).")
def resubmit(delivery: int, note: str, operator: str) -> None:
    """The article of a delivery in doubt is NOT in the publish list: submit it afresh."""
    from pipeline import doubt

    services = _services()
    try:
        channel = doubt.resubmit(services, delivery, f"cli:{operator}", note)
    except doubt.NotInDoubt as exc:
        raise click.ClickException(str(exc)) from exc
    _enqueue(services, [(delivery, channel)])
    click.echo(f"delivery {delivery} queued to be submitted again")


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)
