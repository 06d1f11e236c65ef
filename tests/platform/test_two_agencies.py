"""Issue 18's done-when, through the running system: two agencies, two sources and two
scoped operators on one installation (``govpub serve`` over HTTP, real Celery workers on
Redis, PostgreSQL), with the website's columns, the feeds, one WeChat channel whose
agencies each have their own account in the sandbox, a platform-wide archive receiver
and one receiver per agency.

Each source's items reach only its agency's column, feed, account and receivers; the
cross-agency sweeps of tests/architecture/test_scoped_routes.py (sources) and
tests/pipeline/test_console_scope.py (console, /v1/ops, ``govpub ops``) run on this
platform unchanged; each agency's report counts only its own and the platform summary's
rows add up to the platform's report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from channels.wechat.sandbox import SandboxServer, start
from channels.wechat.sandbox_account import Config
from pipeline import db
from pipeline.console.auth import Accounts
from pipeline.report import build_report
from pipeline.report.summary import build_summary
from tests.architecture import test_scoped_routes as source_sweep
from tests.pipeline import test_console_scope as operator_sweep
from tests.pipeline.console_support import add_user
from tests.platform.stack import PlatformStack

ITEMS = {"a": 3, "b": 2}  # items per tenant: unequal, so a swapped count shows


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """One WeChat sandbox, three accounts: the district's (the instance's), a's, b's."""
    server = start(
        config=Config(appid="wxzdq0000000001"), others=[Config(appid=f"wx{k}00000000001") for k in "ab"]
    )
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def stack(
    platform_for: Callable[..., PlatformStack], sandbox: SandboxServer, tmp_path: Path
) -> PlatformStack:
    secret = tmp_path / "wechat-secret"
    secret.write_text("sandbox-secret", "utf-8")
    wechat = {"api_base_url": sandbox.api_base_url, "secret_file": str(secret), "poll_seconds": 0.3}
    drops = tmp_path / "drops"
    receiver = {"source_organization": "张店区档案馆", "schedule": "per-item", "settle_seconds": 0}

    def archive(name: str, agencies: list[str] | None) -> dict[str, Any]:
        options = {**receiver, "transport": {"kind": "directory", "path": str(drops / name)}}
        return {"kind": "archive", "options": options} | ({"agencies": agencies} if agencies else {})

    from tests.platform.stack import DEFAULT_TENANTS

    a, b = DEFAULT_TENANTS["a"]["code"], DEFAULT_TENANTS["b"]["code"]
    channels = {
        "website": {"kind": "website"},
        "feed": {"kind": "feed"},
        "wechat": {
            "kind": "wechat",
            "depends_on": ["website"],
            "options": {**wechat, "appid": "wxzdq0000000001"},
        },
        "district-archives": archive("district-archives", None),
        "archive-a": archive("archive-a", [a]),
        "archive-b": archive("archive-b", [b]),
        "memory": {"kind": "memory", "options": {"path": str(tmp_path / "memory")}},
    }
    overlays = {
        code: {"channels": {"wechat": {"appid": f"wx{k}00000000001"}}} for k, code in (("a", a), ("b", b))
    }
    made = platform_for(channels=channels, agencies=overlays)
    made.cluster.beat()  # wakes the WeChat deliveries waiting on a publish job
    return made


def _rows(stack: PlatformStack) -> list[Any]:
    with stack.services.engine.connect() as conn:
        return list(
            conn.execute(
                select(
                    db.deliveries.c.channel,
                    db.deliveries.c.state,
                    db.deliveries.c.external_ref,
                    db.items.c.item_id,
                    db.items.c.agency_code,
                )
                .join(db.items, db.items.c.pk == db.deliveries.c.item_pk)
                .where(db.deliveries.c.action == "publish")
            ).all()
        )


def _pk(stack: PlatformStack, item_id: str) -> int:
    with stack.services.engine.connect() as conn:
        return int(conn.execute(select(db.items.c.pk).where(db.items.c.item_id == item_id)).scalar_one())


class OnMemory(operator_sweep.Platform):
    """test_console_scope's platform, its actions tried on the memory channel's delivery."""

    def delivery(self, code: str) -> int:
        with self.engine().connect() as conn:
            found = conn.execute(
                select(db.deliveries.c.id).where(
                    db.deliveries.c.item_pk == self.items[code],
                    db.deliveries.c.action == "publish",
                    db.deliveries.c.channel == "memory",
                )
            )
            return int(found.scalar_one())


def test_two_agencies_two_sources_two_operators(stack: PlatformStack, sandbox: SandboxServer) -> None:
    a, b = stack.tenant("a"), stack.tenant("b")
    for key, count in ITEMS.items():
        answers = stack.submit(key, *(stack.item(key, n) for n in range(2, count + 2)))
        assert [x["status"] for x in answers] == [202] * count, answers
    # a source submitting for the other agency is refused, nothing written
    refused = stack.submit("a", stack.item("b", 9, id="a-9"))
    assert refused[0]["status"] == 403, refused
    try:
        counts = stack.wait_settled(90)
    except AssertionError:
        print(stack.services.store.counts())
        print([(r.channel, r.state, r.item_id) for r in _rows(stack) if r.state != "delivered"])
        print(stack.cluster.logs()[-6000:])
        raise
    rows = _rows(stack)
    assert {r.state for r in rows} == {"delivered"}, (counts, stack.cluster.logs())
    assert len({r.item_id for r in rows}) == sum(ITEMS.values())

    # each agency's items only on its column and its feed
    titles = {key: [stack.item(key, n)["title"] for n in range(2, c + 2)] for key, c in ITEMS.items()}
    for key, other in (("a", "b"), ("b", "a")):
        path = stack.tenant(key).path
        column = stack.http.get(f"/site/{path}/")
        feed = stack.http.get(f"/feeds/agency-{path}.rss")
        for page in (column, feed):
            assert page.status_code == 200, page.url
            assert all(t in page.text for t in titles[key]), page.url
            assert not any(t in page.text for t in titles[other]), page.url
        assert stack.tenant(key).name in column.text
    portal = stack.http.get("/site/").text
    for tenant in (a, b):  # the portal links both columns
        assert f'href="{tenant.path}/index.html">{tenant.name}' in portal, portal

    # WeChat: each agency's items on its own account; the sandbox's record per appid agrees
    wechat = [r for r in rows if r.channel == "wechat"]
    assert len(wechat) == sum(ITEMS.values())
    for key in ITEMS:
        appid, code = f"wx{key}00000000001", stack.tenant(key).code
        mine = [r for r in wechat if r.agency_code == code]
        assert {r.external_ref["appid"] for r in mine} == {appid}
        seen = httpx.get(f"{sandbox.base_url}/sandbox/record", params={"appid": appid}).json()
        assert sorted(p["title"] for p in seen["published"]) == sorted(titles[key])
    district = httpx.get(f"{sandbox.base_url}/sandbox/record", params={"appid": "wxzdq0000000001"}).json()
    assert district["published"] == []  # the district's account carries neither agency's items

    # archive: a per-agency receiver takes only its agency's packages; the district's both
    by_receiver: dict[str, set[str]] = {}
    for r in rows:
        if r.channel.startswith(("archive-", "district-")):
            by_receiver.setdefault(r.channel, set()).add(r.agency_code)
    assert by_receiver == {
        "district-archives": {a.code, b.code},
        "archive-a": {a.code},
        "archive-b": {b.code},
    }
    drops = Path(stack.channels["district-archives"]["options"]["transport"]["path"]).parent
    for name, codes in by_receiver.items():
        files = [p.name for p in (drops / name).rglob("*") if p.is_file()]
        assert files, name
        named = {code for code in (a.code, b.code) if any(code in f for f in files)}
        assert named == codes, (name, files)

    # reports: each agency's counts only its own; the summary's rows add up to the platform's
    year = datetime.now(ZoneInfo("Asia/Shanghai")).year
    engine, settings = stack.services.engine, stack.cluster.settings
    platform = build_report(engine, settings, year).counts.totals
    summary = build_summary(engine, settings, year)
    rows_by_code = {r.code: r for r in summary.rows}
    for key, count in ITEMS.items():
        code = stack.tenant(key).code
        totals = build_report(engine, settings, year, agency=code).counts.totals
        assert (totals.portal, totals.deposit) == (count, count)
        assert rows_by_code[code].items.get("website") == count
    assert platform.portal == sum(ITEMS.values())
    for kind in summary.kinds:
        assert summary.total.items.get(kind, 0) == sum(r.items.get(kind, 0) for r in summary.rows)
    assert summary.total.items["website"] == platform.portal

    # two scoped operators; each over HTTP reads its agency's report only
    accounts = Accounts(engine, stack.services.clock)
    tokens = {}
    for name, key in (("op.a", "a"), ("op.b", "b")):
        add_user(stack.services, name, "operator", agencies=(stack.tenant(key).code,))
        tokens[name] = accounts.issue_token(name)
    for name, key in (("op.a", "a"), ("op.b", "b")):
        platform_view = operator_sweep.Platform(stack.cluster, stack.url, {}, tokens)
        client, _ = operator_sweep.console(platform_view, name)
        own = client.get(f"/v1/reports/{year}", params={"agency": stack.tenant(key).code})
        client.close()
        assert own.status_code == 200, own.text
        assert own.json()["counts"]["totals"]["portal"] == ITEMS[key]

    # the cross-agency sweeps: source a on every /v1 route with b's ids, then operator a
    # on every console, /v1/ops route and govpub ops command with b's item
    source_sweep.test_a_source_of_agency_a_learns_nothing_of_agency_bs_items(stack)
    items = {operator_sweep.A: _pk(stack, "a-1"), operator_sweep.B: _pk(stack, "b-1")}
    operator_sweep.test_a_scoped_operator_finds_nothing_of_another_agency_on_any_route(
        OnMemory(stack.cluster, stack.url, items, tokens)
    )
