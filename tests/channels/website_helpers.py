"""Shared by the website channel's tests: configuration, waiting, reading the folder."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from channels.website.sandbox import Cms, create_app
from pipeline.config import ChannelConfig
from tests.helpers import LiveServer, wait_until

KEY_PREFIX = "113703030000000000-2017-"
COLUMN = "113703030000000000"  # the test agency's column: its code, the default path


def website(folder: Path, **options: Any) -> dict[str, ChannelConfig]:
    return {"website": ChannelConfig(kind="website", options={"output_dir": str(folder), **options})}


def attachment(name: str, data: bytes = b"%PDF-1.4\n", media_type: str = "application/pdf") -> dict[str, str]:
    return {"name": name, "media_type": media_type, "content_base64": base64.b64encode(data).decode()}


def settled(api: TestClient, auth: dict[str, str], item_id: str, action: str = "publish") -> dict[str, Any]:
    """Wait until the item's deliveries of ``action`` are delivered; answer its status."""

    def check() -> dict[str, Any] | None:
        body: dict[str, Any] = api.get(f"/v1/items/test/{item_id}", headers=auth).json()
        mine = [d for d in body["deliveries"] if d["action"] == action]
        latest = max(mine, key=lambda d: d["revision"]) if mine else None
        return body if latest and latest["state"] == "delivered" else None

    return wait_until(check, what=f"{action} of {item_id} delivered")


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file of the site (locks and probes aside): content hash and mtime."""
    return {
        str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    }


def touched(before: dict[str, tuple[str, int]], after: dict[str, tuple[str, int]]) -> set[str]:
    """Files added, removed, rewritten or merely touched between two snapshots."""
    return {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}


TOKEN, SECRET = "test-cms-token", "test-cms-secret"


@contextmanager
def running_cms() -> Iterator[tuple[str, Cms]]:
    """The CMS sandbox on a free loopback port: its documents URL and its state."""
    state = Cms(TOKEN, SECRET)
    with LiveServer(create_app(state)) as server:
        yield f"{server.url}/documents", state


def cms_options(base_url: str, **options: Any) -> dict[str, Any]:
    """A CMS push to the sandbox; its secrets in the environment (never in options),
    where worker processes started later find them too."""
    os.environ["GOVPUB_TEST_CMS_TOKEN"], os.environ["GOVPUB_TEST_CMS_SECRET"] = TOKEN, SECRET
    secrets = {"token_env": "GOVPUB_TEST_CMS_TOKEN", "secret_env": "GOVPUB_TEST_CMS_SECRET"}
    return {"adapter": "http", "base_url": base_url, **secrets, **options}
