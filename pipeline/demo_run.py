"""``govpub demo``: the demo items through a running or an embedded instance."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from importlib.resources import files
from typing import Any

import click
import uvicorn

from pipeline import registry
from pipeline.client import GovpubClient
from pipeline.config import Settings
from pipeline.demo_setup import DEMO_AGENCIES, Demo, demo_settings
from pipeline.states import ACTIVE_STATES
from pipeline.status_view import print_counts


def demo_items() -> list[dict[str, Any]]:
    text = files("pipeline.demo").joinpath("items.jsonl").read_text("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def wait_delivered(client: GovpubClient, deadline_seconds: float = 120.0) -> dict[str, Any]:
    """Poll until no delivery is still on its way (or the deadline passes)."""
    deadline = time.monotonic() + deadline_seconds
    while True:
        counts = client.counts()
        active = sum(n for states in counts.values() for s, n in states.items() if s in ACTIVE_STATES)
        if not active or time.monotonic() > deadline:
            return counts
        time.sleep(0.2)


def register_agencies(services: Any, items: list[dict[str, Any]]) -> None:
    """The agencies the demo items publish for, registered unless they are (with the
    demo's column paths: :data:`DEMO_AGENCIES`)."""
    from pipeline.agencies import Agency, add

    paths = {code: path for code, _, path in DEMO_AGENCIES}
    for code, name in {i["agency"]["code"]: i["agency"]["name"] for i in items}.items():
        if services.registry.get(code) is None:
            add(services.engine, Agency(code, name, path=paths.get(code, "")), services.clock())
            services.registry.forget()


def add_sources(services: Any, items: list[dict[str, Any]]) -> dict[str, str]:
    """One source per ``source`` of the demo items, bound to the agencies of its items
    (the demo has one per agency): the tokens by source name."""
    bound: dict[str, set[str]] = {}
    for item in items:
        bound.setdefault(item["source"], set()).add(item["agency"]["code"])
    return {name: services.store.add_source(name, sorted(codes)) for name, codes in bound.items()}


def start_embedded(
    settings: Settings, port: int
) -> tuple[uvicorn.Server, threading.Thread, dict[str, str], str]:
    """Serve in a thread; returns the server, its thread, the demo sources' tokens and
    the password of the console account ``demo`` (the platform admin, re-keyed at each run)."""
    from pipeline.app import create_app
    from pipeline.cli.context import prepare_database
    from pipeline.console.auth import Accounts
    from pipeline.services import build_services

    services = build_services(settings)
    prepare_database(services)
    register_agencies(services, demo_items())
    tokens = add_sources(services, demo_items())
    password = Accounts(services.engine, services.clock).add("demo", "admin")
    app = create_app(settings, services)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", proxy_headers=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise click.ClickException(f"could not start on port {port} (in use? try --port)")
        time.sleep(0.05)
    return server, thread, tokens, password


def run_demo(settings: Settings, url: str | None, token: str | None, port: int, serve: bool) -> None:
    with contextlib.ExitStack() as running:
        demo = console = None
        tokens: dict[str, str] = {}
        if url is None:
            demo = demo_settings(settings, port)
            running.callback(demo.close)  # the sandboxes, after the instance (last in, first out)
            settings = demo.settings
            server, thread, tokens, password = start_embedded(settings, port)
            running.callback(stop_embedded, server, thread)
            console = f"  console      http://127.0.0.1:{port}/console/  (user demo, password {password})"
            url = f"http://127.0.0.1:{port}"
        elif not token:
            raise click.ClickException("--token (or GOVPUB_TOKEN) is needed with --url")
        items = demo_items()
        refused = 0
        for source, theirs in by_source(items).items():
            # a running instance takes every item with the one token given (its source
            # must be bound to the demo's agencies): the items then name no source
            source_token = tokens.get(source, token or "")
            mine = theirs if source in tokens else [{**i, "source": None} for i in theirs]
            with GovpubClient(url, source_token) as client:
                refused += sum(a["status"] >= 400 for a in client.submit_many(mine))
        click.echo(f"submitted {len(items)} demo items to {url} ({refused} refused)")
        # the embedded instance's counts are the installation's (asked without a token)
        with GovpubClient(url, None if tokens else token) as client:
            counts = wait_delivered(client)
        print_counts(counts)
        click.echo("\nwhere to look:\n" + "\n".join(where_to_look(settings, url, console, demo)) + "\n")
        if demo is not None and serve:
            click.echo("serving until Ctrl-C")
            with contextlib.suppress(KeyboardInterrupt):
                thread.join()


def by_source(items: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    sources: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        sources.setdefault(item["source"], []).append(item)
    return sources


def stop_embedded(server: uvicorn.Server, thread: threading.Thread) -> None:
    server.should_exit = True
    thread.join(10)


def where_to_look(settings: Settings, url: str, console: str | None, demo: Demo | None) -> list[str]:
    """The console, the status page and the API, what the configured channels publish
    here (their plug-ins' public links), and what the demo's sandboxes show."""
    lines = [console] if console else []
    lines += [f"  status page  {url}/", f"  API docs     {url}/docs"]
    kinds = {cfg.kind for cfg in settings.channels.values()}
    for kind, plugin in registry.plugins().items():
        if kind in kinds:
            lines += [f"  {text}  {url}{path}" for text, path in plugin.public_links.items()]
    return lines + (demo.where if demo is not None else [])
