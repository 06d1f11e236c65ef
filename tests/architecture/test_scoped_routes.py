"""Every route that takes an item, delivery or source identifier keeps agencies apart:
a source bound to agency A, asking about agency B's item, gets exactly the answer it
gets about an identifier nobody used (same status, headers, body shape; HEAD too),
never a 2xx, and B's item is untouched afterwards.

The routes come from the application itself (``app.routes``, plug-ins' included), so a
route added later is checked as soon as it exists: one whose path parameter is an
identifier is exercised here, and one with a parameter this file does not know fails
until someone says what it names (``OTHER_PARAMS``) or that it identifies something
(``IDENTIFIERS``, then it is exercised and must be scoped).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

import httpx
from fastapi.routing import APIRoute
from sqlalchemy import select

from pipeline import db
from pipeline.app import create_app
from tests.helpers import api_routes
from tests.pipeline.console_support import add_user, login
from tests.platform.stack import PlatformStack

IDENTIFIERS = {"source", "item_id", "item_pk", "delivery_id"}
OTHER_PARAMS = {
    "year": "a report's year (its agency filter is checked by the report's own tests)",
    "file_name": "a public feed file: what is published is public",
    "path": "a public website page: what is published is public",
    "name": "a WeChat account (its callback; its console page is behind the login)",
}
NOBODY = {"item_id": "never-used", "item_pk": str(10**9), "delivery_id": str(10**9)}
PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")
IGNORED_HEADERS = {"date", "content-length", "server", "x-request-id"}


def params(path: str) -> set[str]:
    return set(PARAM.findall(path))


def fill(path: str, values: dict[str, str]) -> str:
    return PARAM.sub(lambda m: values[m.group(1)], path)


def shape(answer: httpx.Response, values: dict[str, str]) -> tuple[Any, ...]:
    """The answer with the identifiers asked about taken out (as whole words, links
    decoded first): what must not differ."""

    def without(text: str) -> str:
        for value in sorted(values.values(), key=len, reverse=True):
            text = re.sub(rf"(?<![\w-]){re.escape(value)}(?![\w-])", "<id>", text)
        return text

    headers = {k: v for k, v in answer.headers.items() if k not in IGNORED_HEADERS}
    if "location" in headers:
        headers["location"] = without(unquote(headers["location"]))
    return answer.status_code, sorted(headers.items()), without(answer.text)


def scoped_routes(app: Any) -> list[tuple[str, APIRoute]]:
    found, unknown = [], []
    for path, route in api_routes(app):
        names = params(path)
        unknown += [
            f"{sorted(route.methods)} {path}: {{{n}}}" for n in names - IDENTIFIERS - set(OTHER_PARAMS)
        ]
        if names & IDENTIFIERS:
            found.append((path, route))
    assert not unknown, (
        "routes with a path parameter this test does not know; if it names an item, a delivery "
        f"or a source add it to IDENTIFIERS (and scope the route), else say what it names: {unknown}"
    )
    return found


def b_values(stack: PlatformStack) -> dict[str, str]:
    """Identifiers of tenant b's item b-1 (and of one of its deliveries)."""
    with stack.services.engine.connect() as conn:
        pk = conn.execute(select(db.items.c.pk).where(db.items.c.item_id == "b-1")).scalar_one()
        delivery = conn.execute(select(db.deliveries.c.id).where(db.deliveries.c.item_pk == pk)).scalar()
    return {"source": "src-b", "item_id": "b-1", "item_pk": str(pk), "delivery_id": str(delivery)}


def state_of_b(stack: PlatformStack) -> tuple[Any, ...]:
    with stack.services.engine.connect() as conn:
        item = conn.execute(select(db.items.c.retracted_at).where(db.items.c.item_id == "b-1")).one()
        states = conn.execute(
            select(db.deliveries.c.id, db.deliveries.c.state, db.deliveries.c.attempts)
            .join(db.items, db.items.c.pk == db.deliveries.c.item_pk)
            .where(db.items.c.item_id == "b-1")
            .order_by(db.deliveries.c.id)
        ).all()
    return tuple(item), tuple(tuple(s) for s in states)


def test_a_source_of_agency_a_learns_nothing_of_agency_bs_items(platform_stack: PlatformStack) -> None:
    stack = platform_stack
    a, b = stack.tenant("a"), stack.tenant("b")
    assert [x["status"] for x in stack.submit("a", stack.item("a", 1))] == [202]
    assert [x["status"] for x in stack.submit("b", stack.item("b", 1))] == [202]
    stack.wait_settled()
    routes = scoped_routes(create_app(stack.cluster.settings, stack.services))
    assert {path for path, _ in routes} >= {"/v1/items/{source}/{item_id}", "/console/items/{item_pk}"}
    theirs, before = b_values(stack), state_of_b(stack)
    # the identifiers are real: the platform's own users reach them (a control that can fail)
    assert stack.http.get("/v1/items/src-b/b-1", headers=b.auth).status_code == 200
    add_user(stack.services, "root", "admin")
    with httpx.Client(base_url=stack.url, timeout=60) as admin:
        login(admin, "root")
        assert admin.get(f"/console/items/{theirs['item_pk']}").status_code == 200

    checked: list[tuple[str, str]] = []
    for path, route in routes:
        for source in ("src-b", "src-a"):  # b's own path, and a's path with b's ids
            values = {**theirs, "source": source}
            nobody = {**NOBODY, "source": source}
            for method in sorted(route.methods | ({"HEAD"} if "GET" in route.methods else set())):
                body = {"reason": "测试撤回"} if method in ("POST", "DELETE") else None

                def ask(
                    v: dict[str, str], method: str = method, body: Any = body, p: str = path
                ) -> httpx.Response:
                    return stack.http.request(
                        method, fill(p, v), headers=a.auth, json=body, follow_redirects=False
                    )

                about_b, about_nothing = ask(values), ask(nobody)
                where = f"{method} {fill(path, values)}"
                assert not 200 <= about_b.status_code < 300, f"{where}: {about_b.status_code} {about_b.text}"
                assert shape(about_b, values) == shape(about_nothing, nobody), where
                assert b.name not in about_b.text and "b-1" not in about_b.headers.get("etag", ""), where
                checked.append((path, where))
            if "source" not in params(path):
                break
    assert {path for path, _ in checked} == {path for path, _ in routes}  # every one asked
    assert state_of_b(stack) == before  # nothing retracted, retried, skipped or confirmed


def test_every_v1_answer_to_a_source_stays_within_its_agencies(platform_stack: PlatformStack) -> None:
    """The /v1 routes without identifiers (status, overview, reports, …): nothing of b's
    items in what a's source reads."""
    stack = platform_stack
    a = stack.tenant("a")
    stack.submit("a", stack.item("a", 1))
    stack.submit("b", stack.item("b", 1, title="和平街道内部事项"))
    stack.wait_settled()
    year = str(__import__("datetime").date.today().year)
    read = 0
    for path, route in api_routes(create_app(stack.cluster.settings, stack.services)):
        if not path.startswith("/v1/") or "GET" not in route.methods or params(path) & IDENTIFIERS:
            continue
        answer = stack.http.get(fill(path, {"year": year}), headers=a.auth)
        assert answer.status_code < 500, f"{path}: {answer.text}"
        assert "和平街道内部事项" not in answer.text and "src-b" not in answer.text, path
        read += 1
    assert read >= 3
    assert stack.http.get("/v1/status", headers=a.auth).json() == {"memory": {"delivered": 1}}
