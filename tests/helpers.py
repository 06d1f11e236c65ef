"""Test helpers: example items, polling with a deadline, processes."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pipeline.localcluster import free_port
from pipeline.localcluster import stop_process as kill

__all__ = [
    "BASE_ITEM",
    "TEST_AGENCY",
    "TEST_AGENCY_NAME",
    "LiveServer",
    "api_routes",
    "ensure_agency",
    "free_port",
    "govpub",
    "kill",
    "make_item",
    "register_agencies",
    "wait_until",
]

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")

BASE_ITEM: dict[str, Any] = json.loads(
    (ROOT / "pipeline" / "demo" / "items.jsonl").read_text("utf-8").splitlines()[0]
)


TEST_AGENCY, TEST_AGENCY_NAME = BASE_ITEM["agency"]["code"], BASE_ITEM["agency"]["name"]


def register_agencies(engine: Any, agencies: dict[str, str]) -> None:
    """Register ``{code: name}`` agencies not registered yet (the intake takes items
    of registered agencies only); paths default to the code."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from pipeline import db
    from pipeline.agencies import Agency, add

    with engine.connect() as conn:
        known = set(conn.execute(select(db.agencies.c.code)).scalars())
    for code, name in agencies.items():
        if code not in known:
            add(engine, Agency(code, name), datetime.now(UTC))


def ensure_agency(engine: Any, agency: Any) -> None:
    """``agency`` (a pipeline.agencies.Agency) registered as given: added, or its fields
    edited when the tests' default registration (tests/conftest.py) got there first."""
    from datetime import UTC, datetime

    from pipeline.agencies import Registry, add, edit

    current = Registry(engine, 0).get(agency.code)
    if current is None:
        add(engine, agency, datetime.now(UTC))
        return
    fields = ("name", "parent", "kind", "path", "column_name", "taxonomy", "position")
    changes = {f: getattr(agency, f) for f in fields if getattr(agency, f) != getattr(current, f)}
    if agency.path == "":
        changes.pop("path", None)
    if changes:
        edit(engine, agency.code, datetime.now(UTC), **changes)


def make_item(n: int | str = 1, **changes: Any) -> dict[str, Any]:
    """A complete, approved item; ``changes`` replace top-level fields."""
    item = copy.deepcopy(BASE_ITEM)
    item.pop("source", None)
    item.update(id=f"t-{n}", title=f"测试公开信息 {n}")
    item.update(changes)
    return item


def wait_until(check: Callable[[], T], timeout: float = 30.0, what: str = "condition") -> T:
    """Poll ``check`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exception as exc:  # services restarting: keep polling
            last = exc
        if last and not isinstance(last, Exception):
            return last  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")


def govpub(*args: str, env: dict[str, str], cwd: Path, **kw: Any) -> subprocess.Popen[bytes]:
    """Start a ``govpub`` command in its own process group (so it can be killed whole)."""
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", *args],
        env={**os.environ, **env},
        cwd=cwd,
        start_new_session=True,
        **kw,
    )


class LiveServer:
    """A real uvicorn server for an ASGI app, on a free loopback port, in a thread."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        import threading

        import uvicorn

        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", proxy_headers=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        wait_until(lambda: self.server.started, 10, "server start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def api_routes(app: Any) -> list[tuple[str, Any]]:
    """``(path, APIRoute)`` of every FastAPI route of ``app``, included routers' too."""
    from fastapi.routing import APIRoute, iter_route_contexts

    return [
        (str(context.path), context.original_route)
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
    ]
