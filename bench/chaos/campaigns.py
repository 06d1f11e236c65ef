"""Hostile inputs and intruders against a running govpub.

Each request must be refused: a hostile input with a documented 4xx (never a 5xx,
never a 2xx), an intruder with 401/403/404 (any 2xx is an unauthorised success).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from sqlalchemy.exc import OperationalError

from bench.spine import demo_like_items

T = TypeVar("T")


def _item(**changes: Any) -> dict[str, Any]:
    item = demo_like_items(1)[0]
    item.pop("source", None)
    item.update({"id": "hostile-1", "title": "安全测试条目", **changes})
    return item


def hostile_bodies() -> list[tuple[bytes, str]]:
    approval = _item()["approval"]
    missing = {**approval, "checks": approval["checks"][:2]}
    failed = {**approval, "checks": [{**approval["checks"][0], "result": "fail"}, *approval["checks"][1:]]}
    bodies: list[dict[str, Any] | bytes] = [
        b"[" * 50_000 + b"]" * 50_000,
        b'{"id": "x", "title": "\xff\xfe"}',
        b"not json at all",
        _item(approval=missing),
        _item(approval=failed),
        _item(approval={}),
        _item(revision=-1),
        _item(generated_on="20170-01-01"),
        _item(category="<script>alert(1)</script>"),
        _item(attachments=[{"name": "../../../etc/passwd", "content_base64": "!!"}]),
        _item(title="x" * 5000),
    ]
    out: list[tuple[bytes, str]] = []
    for body in bodies:
        raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        out.append((raw, "application/json"))
    out.append((json.dumps(_item()).encode(), "text/plain"))
    return out


def answer_of(client: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """The service's verdict on a request: retried while the service itself is down
    (connection errors, 503), since an outage is not an answer."""
    for _ in range(240):
        try:
            answer = client.request(method, path, **kwargs)
        except httpx.TransportError:
            time.sleep(0.25)
            continue
        if answer.status_code not in (502, 503, 504):
            return answer
        time.sleep(0.25)
    raise RuntimeError(f"{method} {path}: the service never came back")


def until_up(call: Callable[[], T]) -> T:
    """A direct database call, retried while PostgreSQL restarts under us."""
    for _ in range(240):
        try:
            return call()
        except OperationalError:
            time.sleep(0.25)
    raise RuntimeError("the database never came back")


def hostile_inputs(url: str, token: str) -> tuple[int, int]:
    """Returns (tried, mishandled): mishandled is any answer but a 4xx."""
    tried = mishandled = 0
    with httpx.Client(base_url=url, headers={"authorization": f"Bearer {token}"}, timeout=30) as client:
        for body, content_type in hostile_bodies():
            tried += 1
            answer = answer_of(
                client, "POST", "/v1/items", content=body, headers={"content-type": content_type}
            )
            mishandled += not 400 <= answer.status_code < 500
    return tried, mishandled


def intrusions(url: str, token: str, cluster: Any) -> tuple[int, int]:
    """Returns (tried, succeeded): every one of these must be refused."""
    store = cluster.services.store
    other = until_up(lambda: store.add_source("intruder"))
    revoked = until_up(lambda: store.add_source("former"))
    until_up(lambda: store.revoke_source("former"))
    item = _item(id="owned-by-chaos")
    with httpx.Client(base_url=url, timeout=30) as client:
        answer_of(client, "POST", "/v1/items", json=item, headers={"authorization": f"Bearer {token}"})
        attempts = [
            ("POST", "/v1/items", {}, item),
            ("POST", "/v1/items", {"authorization": "Bearer gp_forged"}, item),
            ("POST", "/v1/items", {"authorization": f"Bearer {revoked}"}, item),
            ("POST", "/v1/items", {"authorization": f"Bearer {other}"}, {**item, "source": "chaos"}),
            ("GET", "/v1/items/chaos/owned-by-chaos", {"authorization": f"Bearer {other}"}, None),
            (
                "DELETE",
                "/v1/items/chaos/owned-by-chaos",
                {"authorization": f"Bearer {other}"},
                {"reason": "恶意撤回"},
            ),
            (
                "DELETE",
                "/v1/items/chaos/owned-by-chaos",
                {"authorization": f"Bearer {revoked}"},
                {"reason": "撤回"},
            ),
            ("DELETE", "/v1/items/chaos/owned-by-chaos", {}, {"reason": "撤回"}),
        ]
        succeeded = 0
        for method, path, headers, body in attempts:
            answer = answer_of(client, method, path, headers=headers, json=body)
            succeeded += answer.is_success
    return len(attempts), succeeded
