"""Console users scoped to agencies, through a running ``govpub serve`` and a Celery
worker: a scoped operator of agency A cannot see, retry, skip, confirm, resubmit or
retract agency B's item through any route (console pages, console forms, the operator
API, ``govpub ops``), and finds it "not found" as if it did not exist; an agency auditor
sees only its agency and cannot act; a platform auditor sees all and cannot act; the
platform admin sees and acts on all.

The sweep reads the app's routes: a console or ``/v1/ops`` route with a path parameter
that this file does not probe fails :func:`test_every_route_with_an_id_is_probed`, and
so does a ``govpub ops`` command taking an id.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import func, insert, select, update

from pipeline import db, recount
from pipeline.agencies import Agency, add
from pipeline.app import create_app
from pipeline.cli.main import main
from pipeline.cli.ops import ops
from pipeline.console.auth import Accounts
from pipeline.console.tables import audit_log
from pipeline.localcluster import LocalCluster
from tests.conftest import REDIS, fresh_pg_database
from tests.helpers import api_routes, make_item, wait_until
from tests.pipeline.console_support import PASSWORD, add_user, form_value

A, B = "AAA111", "BBB222"
NOW = datetime(2026, 3, 2, tzinfo=UTC)
WAITING = ("pending", "queued", "sending", "retrying")


@dataclass
class Platform:
    cluster: LocalCluster
    url: str
    items: dict[str, int]  # agency code → item pk
    tokens: dict[str, str]  # user → operator API token

    def engine(self) -> Any:
        return self.cluster.services.engine

    def delivery(self, code: str) -> int:
        with self.engine().connect() as conn:
            found = conn.execute(
                select(db.deliveries.c.id).where(
                    db.deliveries.c.item_pk == self.items[code], db.deliveries.c.action == "publish"
                )
            )
            return int(found.scalar_one())

    def state(self, code: str) -> tuple[str, Any]:
        """(its delivery's state, the item's retracted_at)."""
        with self.engine().connect() as conn:
            state = conn.execute(
                select(db.deliveries.c.state).where(db.deliveries.c.id == self.delivery(code))
            ).scalar_one()
            retracted = conn.execute(
                select(db.items.c.retracted_at).where(db.items.c.pk == self.items[code])
            ).scalar_one()
        return state, retracted

    def settled(self, code: str) -> None:
        """Until the worker is done with the agency's delivery (after a retry or resubmit)."""
        wait_until(lambda: self.state(code)[0] not in WAITING, 30, f"{code}'s delivery to settle")

    def set_state(self, code: str, state: str) -> None:
        with self.engine().begin() as conn:
            conn.execute(
                update(db.deliveries).where(db.deliveries.c.id == self.delivery(code)).values(state=state)
            )
            recount.rewrite(conn)  # written past pipeline/deliveries.py: counters from the log


USERS = {  # name → (role, agencies, platform)
    "op.a": ("operator", (A,), False),
    "audit.a": ("auditor", (A,), False),
    "audit.all": ("auditor", (), True),
    "root": ("admin", (), False),
}


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """Two agencies, one item each, every delivery dead (the channel refuses all), a
    worker on the memory queue, four console users with API tokens."""
    import redis

    broker = f"{REDIS}/6"
    try:
        redis.Redis.from_url(broker).flushdb()
    except Exception as exc:
        pytest.skip(f"Redis unavailable: {exc}")
    root = tmp_path_factory.mktemp("scope")
    channels = {"memory": {"kind": "memory", "options": {"fail_permanently": True}}}
    database = fresh_pg_database()  # three processes write at once: PostgreSQL
    cluster = LocalCluster.create(root, next(database), broker, channels)
    try:
        engine = cluster.services.engine
        add(engine, Agency(A, "教育局"), NOW)
        add(engine, Agency(B, "民政局"), NOW)
        token = cluster.services.store.add_source("test")
        with engine.begin() as conn:
            conn.execute(insert(db.source_agencies), [{"source": "test", "agency_code": c} for c in (A, B)])
        accounts = Accounts(engine, cluster.services.clock)
        tokens = {}
        for name, (role, agencies, wide) in USERS.items():
            add_user(cluster.services, name, role, agencies=agencies, platform=wide)
            tokens[name] = accounts.issue_token(name)
        _, url = cluster.serve()
        cluster.worker("govpub.memory", concurrency=1, pool="solo")
        items = {}
        for n, code in enumerate((A, B), start=1):
            item = make_item(n, agency={"code": code, "name": code})
            answer = httpx.post(f"{url}/v1/items", json=item, headers={"authorization": f"Bearer {token}"})
            assert answer.status_code == 202, answer.text
            with engine.connect() as conn:
                items[code] = conn.execute(
                    select(db.items.c.pk).where(db.items.c.item_id == f"t-{n}")
                ).scalar_one()
        found = Platform(cluster, url, items, tokens)
        wait_until(lambda: found.state(A)[0] == "dead" and found.state(B)[0] == "dead", 60, "dead deliveries")
        yield found
    finally:
        cluster.stop()
        next(database, None)  # drops it


def console(platform: Platform, name: str) -> tuple[httpx.Client, str]:
    """A browser of ``name`` logged in through the form, and its CSRF token."""
    client = httpx.Client(base_url=platform.url, timeout=30, trust_env=False)
    page = client.get("/console/login")
    fields = {"username": name, "password": PASSWORD, "csrf": form_value(page.text, "csrf")}
    assert client.post("/console/login", data=fields).status_code == 303
    return client, form_value(client.get("/console/").text, "csrf")


def api(platform: Platform, name: str) -> httpx.Client:
    headers = {"authorization": f"Bearer {platform.tokens[name]}"}
    return httpx.Client(base_url=platform.url, headers=headers, timeout=30, trust_env=False)


def cli(platform: Platform, name: str, *args: str) -> Any:
    """``govpub ops ARGS`` with ``name``'s token in the environment, against the server."""
    env = {"GOVPUB_OPS_TOKEN": platform.tokens[name]}
    return CliRunner().invoke(main, ["ops", "--url", platform.url, *args], env=env)


# How each route with an id is tried on an agency's thing: (method, path, form or body).
Probe = Callable[[Platform, str], tuple[str, str, dict[str, Any]]]
CONSOLE_PROBES: dict[tuple[str, str], Probe] = {
    ("GET", "/console/items/{item_pk}"): lambda p, c: ("GET", f"/console/items/{p.items[c]}", {}),
    ("POST", "/console/deliveries/{delivery_id}/retry"): lambda p, c: (
        "POST",
        f"/console/deliveries/{p.delivery(c)}/retry",
        {},
    ),
    ("POST", "/console/deliveries/{delivery_id}/skip"): lambda p, c: (
        "POST",
        f"/console/deliveries/{p.delivery(c)}/skip",
        {"reason": "不再需要"},
    ),
    ("POST", "/console/deliveries/{delivery_id}/confirm"): lambda p, c: (
        "POST",
        f"/console/deliveries/{p.delivery(c)}/confirm",
        {"url": "https://example.gov.cn/a"},
    ),
    ("POST", "/console/deliveries/{delivery_id}/resubmit"): lambda p, c: (
        "POST",
        f"/console/deliveries/{p.delivery(c)}/resubmit",
        {"note": "不在渠道上"},
    ),
    ("POST", "/console/deliveries/{delivery_id}/release"): lambda p, c: (
        "POST",
        f"/console/deliveries/{p.delivery(c)}/release",
        {"reason": "已核实，无个人信息"},
    ),
    ("POST", "/console/items/{item_pk}/retract"): lambda p, c: (
        "POST",
        f"/console/items/{p.items[c]}/retract",
        {"reason": "内容有误", "confirm": "yes"},
    ),
    ("GET", "/console/reports/{year}"): lambda p, c: ("GET", f"/console/reports/2026?agency={c}", {}),
}
API_PROBES: dict[tuple[str, str], Probe] = {
    ("GET", "/v1/ops/items/{item_pk}"): lambda p, c: ("GET", f"/v1/ops/items/{p.items[c]}", {}),
    ("POST", "/v1/ops/deliveries/{delivery_id}/retry"): lambda p, c: (
        "POST",
        f"/v1/ops/deliveries/{p.delivery(c)}/retry",
        {},
    ),
    ("POST", "/v1/ops/deliveries/{delivery_id}/skip"): lambda p, c: (
        "POST",
        f"/v1/ops/deliveries/{p.delivery(c)}/skip",
        {"reason": "不再需要"},
    ),
    ("POST", "/v1/ops/deliveries/{delivery_id}/confirm"): lambda p, c: (
        "POST",
        f"/v1/ops/deliveries/{p.delivery(c)}/confirm",
        {"url": "https://example.gov.cn/a"},
    ),
    ("POST", "/v1/ops/deliveries/{delivery_id}/resubmit"): lambda p, c: (
        "POST",
        f"/v1/ops/deliveries/{p.delivery(c)}/resubmit",
        {"note": "不在渠道上"},
    ),
    ("POST", "/v1/ops/deliveries/{delivery_id}/release"): lambda p, c: (
        "POST",
        f"/v1/ops/deliveries/{p.delivery(c)}/release",
        {"reason": "已核实，无个人信息"},
    ),
    ("POST", "/v1/ops/items/{item_pk}/release"): lambda p, c: (
        "POST",
        f"/v1/ops/items/{p.items[c]}/release",
        {"reason": "已核实，无个人信息"},
    ),
    ("POST", "/v1/ops/items/{item_pk}/retract"): lambda p, c: (
        "POST",
        f"/v1/ops/items/{p.items[c]}/retract",
        {"reason": "内容有误"},
    ),
}
# ``govpub ops`` commands taking an id: the arguments that try them on an agency's thing
CLI_PROBES: dict[str, Callable[[Platform, str], list[str]]] = {
    "item": lambda p, c: ["item", str(p.items[c])],
    "retry": lambda p, c: ["retry", str(p.delivery(c))],
    "skip": lambda p, c: ["skip", str(p.delivery(c)), "--reason", "不再需要"],
    "confirm": lambda p, c: ["confirm", str(p.delivery(c)), "--url", "https://example.gov.cn/a"],
    "resubmit": lambda p, c: ["resubmit", str(p.delivery(c))],
    "retract": lambda p, c: ["retract", str(p.items[c]), "--reason", "内容有误"],
    "release": lambda p, c: ["release", str(p.delivery(c)), "--reason", "已核实，无个人信息"],
}
# Routes whose parameter names no item or delivery: a channel's own page, probed by
# test_a_channel_page_is_for_users_reaching_every_agency_it_serves below.
# A WeChat account's page and order (tests/channels/wechat/test_accounts.py probes them).
CHANNEL_ROUTES = {
    ("GET", "/console/wechat/{name}"),
    ("POST", "/console/wechat/{name}/send-now"),
    ("GET", "/console/wechat/{name}/{path}"),
    ("POST", "/console/wechat/{name}/{path}/send-now"),
}
# The platform summary is for platform users only (tests/pipeline/test_report_agencies.py).
PLATFORM_ONLY = {("GET", "/console/platform/{year}")}
NEEDS_DOUBT = {"confirm", "resubmit"}
NEEDS_HOLD = {"release"}


def test_every_route_with_an_id_is_probed(platform: Platform) -> None:
    app = create_app(platform.cluster.settings, platform.cluster.services)
    with_params = {
        (method, path)
        for path, route in api_routes(app)
        if (path.startswith("/console") or path.startswith("/v1/ops")) and "{" in path
        for method in route.methods
    }
    assert with_params == set(CONSOLE_PROBES) | set(API_PROBES) | CHANNEL_ROUTES | PLATFORM_ONLY
    assert isinstance(ops, click.Group)
    taking_ids = {
        name
        for name, command in ops.commands.items()
        if any(
            isinstance(p, click.Argument) and p.name and p.name.endswith(("_id", "_pk"))
            for p in command.params
        )
    }
    assert taking_ids == set(CLI_PROBES)


def _action(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def _prepare(platform: Platform, code: str, path: str) -> None:
    """The state an action needs: in doubt for confirm and resubmit, held for release,
    dead for the rest."""
    action = _action(path)
    platform.set_state(
        code, "in_doubt" if action in NEEDS_DOUBT else "held" if action in NEEDS_HOLD else "dead"
    )


def _console_try(
    platform: Platform, client: httpx.Client, csrf: str, probe: Probe, code: str
) -> httpx.Response:
    method, path, fields = probe(platform, code)
    _prepare(platform, code, path)
    if method == "GET":
        return client.get(path)
    return client.post(path, data={**fields, "csrf": csrf, "back": "/console/items"})


def _api_try(platform: Platform, client: httpx.Client, probe: Probe, code: str) -> httpx.Response:
    method, path, body = probe(platform, code)
    _prepare(platform, code, path)
    return client.get(path) if method == "GET" else client.post(path, json=body)


def _untouched(platform: Platform, code: str, before: int) -> None:
    """Nothing happened to the agency's item: not retracted, no audit row on it."""
    assert platform.state(code)[1] is None
    with platform.engine().connect() as conn:
        rows = conn.execute(
            select(audit_log.c.action).where(
                audit_log.c.item_pk == platform.items[code], audit_log.c.id > before
            )
        ).all()
    assert rows == []


def _last_audit(platform: Platform) -> int:
    with platform.engine().connect() as conn:
        return int(
            conn.execute(select(audit_log.c.id).order_by(audit_log.c.id.desc()).limit(1)).scalar() or 0
        )


def test_a_scoped_operator_finds_nothing_of_another_agency_on_any_route(platform: Platform) -> None:
    before = _last_audit(platform)
    client, csrf = console(platform, "op.a")
    for key, probe in CONSOLE_PROBES.items():
        answer = _console_try(platform, client, csrf, probe, B)
        assert answer.status_code == 404, (key, answer.status_code)
        if key[1].startswith("/console/items") or key[1].startswith("/console/deliveries"):
            assert (
                "未找到" in answer.text
                and "民政局" not in answer.text
                and "测试公开信息 2" not in answer.text
            )
    with api(platform, "op.a") as http:
        for key, probe in API_PROBES.items():
            answer = _api_try(platform, http, probe, B)
            assert answer.status_code == 404, (key, answer.text)
            assert answer.json()["error"] == "not_found"
        nowhere = http.post("/v1/ops/deliveries/999999/retry")  # the same answer as for B's
        assert nowhere.status_code == 404 and nowhere.json()["error"] == "not_found"
    for name, args in CLI_PROBES.items():
        made = args(platform, B)
        _prepare(platform, B, "/" + name)
        result = cli(platform, "op.a", *made)
        assert result.exit_code == 1 and "404" in result.output, (name, result.output)
    _untouched(platform, B, before)
    assert platform.state(B)[0] in ("dead", "in_doubt", "held")


def test_a_scoped_operator_lists_only_its_agency(platform: Platform) -> None:
    client, _ = console(platform, "op.a")
    for page in ("/console/items", "/console/deliveries", "/console/deliveries?state=failing"):
        text = client.get(page).text
        assert "测试公开信息 1" in text and "测试公开信息 2" not in text, page
    assert client.get(f"/console/items?agency={B}").status_code == 404
    assert client.get(f"/console/?agency={B}").status_code == 404
    assert client.get(f"/console/deliveries?agency={B}").status_code == 404
    assert "没有找到信息" in client.get("/console/items?q=测试公开信息 2").text  # B's title finds nothing
    with api(platform, "op.a") as http:
        assert [i["agency_code"] for i in http.get("/v1/ops/items").json()["items"]] == [A]
        assert {d["agency_code"] for d in http.get("/v1/ops/deliveries").json()["deliveries"]} == {A}
        assert http.get(f"/v1/ops/items?agency={B}").status_code == 404
        assert http.get("/v1/ops/whoami").json() == {
            "username": "op.a",
            "role": "operator",
            "agencies": [A],
            "may_act": True,
        }
    listed = cli(platform, "op.a", "items")
    assert (
        listed.exit_code == 0 and "测试公开信息 1" in listed.output and "测试公开信息 2" not in listed.output
    )


def test_a_scoped_operator_acts_on_its_own_agency_through_every_route(platform: Platform) -> None:
    client, csrf = console(platform, "op.a")
    for key, probe in CONSOLE_PROBES.items():
        if _action(key[1]) == "retract":
            continue  # once only: below, through the CLI
        answer = _console_try(platform, client, csrf, probe, A)
        assert answer.status_code in (200, 303), (key, answer.status_code)
        if answer.status_code == 303:
            assert "notice=" in answer.headers["location"]
        platform.settled(A)
    with api(platform, "op.a") as http:
        for key, probe in API_PROBES.items():
            if _action(key[1]) == "retract":
                continue
            answer = _api_try(platform, http, probe, A)
            assert answer.status_code == 200, (key, answer.text)
            platform.settled(A)
    with platform.engine().connect() as conn:
        audited = conn.execute(
            select(audit_log.c.action, audit_log.c.agency_code).where(audit_log.c.username == "op.a")
        ).all()
    assert {a for a, _ in audited} >= {"retry", "skip", "confirm", "resubmit", "release"}
    assert {code for action, code in audited if action != "login"} == {A}
    _prepare(platform, A, "/retract")
    done = cli(platform, "op.a", "retract", str(platform.items[A]), "--reason", "内容有误")
    assert done.exit_code == 0, done.output
    assert platform.state(A)[1] is not None


def test_auditors_read_within_their_reach_and_cannot_act(platform: Platform) -> None:
    before = _last_audit(platform)
    for name, readable in (("audit.a", {A}), ("audit.all", {A, B})):
        client, csrf = console(platform, name)
        for code in (A, B):
            page = client.get(f"/console/items/{platform.items[code]}")
            assert page.status_code == (200 if code in readable else 404), (name, code)
        with api(platform, name) as http:
            for code in (A, B):
                seen = http.get(f"/v1/ops/items/{platform.items[code]}").status_code
                assert seen == (200 if code in readable else 404), (name, code)
            for key, probe in API_PROBES.items():
                if key[0] == "POST":
                    answer = _api_try(platform, http, probe, B)
                    assert answer.status_code in (403, 404), (name, key, answer.status_code)
                    answer = _api_try(platform, http, probe, A)
                    assert answer.status_code == 403 and answer.json()["error"] == "read_only", (name, key)
        for key, probe in CONSOLE_PROBES.items():
            if key[0] == "POST":
                for code in (A, B):
                    assert _console_try(platform, client, csrf, probe, code).status_code == 403, (name, key)
        assert cli(platform, name, "retry", str(platform.delivery(B))).exit_code == 1
    _untouched(platform, B, before)


def test_the_platform_admin_sees_and_acts_on_every_agency(platform: Platform) -> None:
    client, csrf = console(platform, "root")
    listing = client.get("/console/items").text
    assert "测试公开信息 1" in listing and "测试公开信息 2" in listing
    only_b = client.get(f"/console/items?agency={B}").text
    assert "测试公开信息 2" in only_b and "测试公开信息 1" not in only_b
    for code in (A, B):
        assert client.get(f"/console/items/{platform.items[code]}").status_code == 200
    platform.set_state(B, "dead")
    retried = _console_try(
        platform, client, csrf, CONSOLE_PROBES[("POST", "/console/deliveries/{delivery_id}/retry")], B
    )
    assert retried.status_code == 303 and "notice=" in retried.headers["location"]
    platform.settled(B)
    with api(platform, "root") as http:
        skipped = _api_try(platform, http, API_PROBES[("POST", "/v1/ops/deliveries/{delivery_id}/skip")], B)
        assert skipped.status_code == 200, skipped.text
    wait_until(lambda: platform.state(B)[0] == "skipped", 30, "B's delivery skipped")
    with platform.engine().connect() as conn:
        codes = conn.execute(
            select(audit_log.c.agency_code).where(
                audit_log.c.username == "root", audit_log.c.item_pk.is_not(None)
            )
        ).scalars()
        assert set(codes) == {B}


def test_users_commands_scope_accounts_and_refuse_bad_agencies(platform: Platform, tmp_path: Path) -> None:
    from pipeline.cli.context import Installation

    obj = Installation(services=platform.cluster.services)
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(main, ["users", *args], obj=obj)

    unknown = run("add", "x.y", "--role", "operator", "--agency", "NOSUCH999")
    assert unknown.exit_code != 0 and "no agency NOSUCH999" in unknown.output
    several = run("add", "x.y", "--role", "operator")  # two agencies: which one?
    assert several.exit_code != 0 and "needs --agency" in several.output
    assert run("add", "x.y", "--role", "admin", "--agency", A).exit_code != 0
    assert run("add", "x.y", "--role", "operator", "--platform").exit_code != 0
    assert "x.y" not in run("list").output  # nothing half-written
    made = run("add", "x.y", "--role", "operator", "--agency", A)
    assert made.exit_code == 0, made.output
    assert run("scope", "x.y", "--agency", B).exit_code == 0
    line = next(line for line in run("list").output.splitlines() if line.startswith("x.y\t"))
    assert line.split("\t")[1:4] == ["operator", B, "-"]
    issued = run("token", "x.y")
    assert issued.exit_code == 0
    token = issued.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"[A-Za-z0-9_-]{40,}", token)
    with httpx.Client(
        base_url=platform.url, headers={"authorization": f"Bearer {token}"}, trust_env=False
    ) as http:
        assert http.get("/v1/ops/whoami").json()["agencies"] == [B]
    with platform.engine().connect() as conn:  # kept only hashed
        stored = conn.execute(select(db.metadata.tables["console_users"].c.api_token_hash)).scalars().all()
    assert token not in stored
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n", encoding="utf-8")
    by_file = runner.invoke(
        main,
        ["ops", "--url", platform.url, "--token-file", str(token_file), "whoami"],
        env={"GOVPUB_OPS_TOKEN": ""},
    )
    assert by_file.exit_code == 0 and '"username": "x.y"' in by_file.output
    refused = runner.invoke(main, ["ops", "--url", platform.url, "whoami"], env={"GOVPUB_OPS_TOKEN": "wrong"})
    assert refused.exit_code == 1 and "401" in refused.output
    assert "x.y" in run("list").output and run("remove", "x.y").exit_code == 0


def test_a_channel_page_is_for_users_reaching_every_agency_it_serves(platform: Platform) -> None:
    """A channel's own console page (the WeChat send, its account and queue) shows the
    items of every agency the instance serves: a user scoped to agencies has it only
    for an instance serving theirs alone."""
    from starlette.requests import Request

    from pipeline.config import ChannelConfig
    from pipeline.console.auth import User
    from pipeline.console.pages import serves_within_reach
    from pipeline.tenancy import Reach

    settings = platform.cluster.settings.model_copy(
        update={
            "channels": {
                "everyone": ChannelConfig(kind="memory"),
                "a-only": ChannelConfig(kind="memory", agencies=[A]),
                "b-only": ChannelConfig(kind="memory", agencies=[B]),
            }
        }
    )
    app = create_app(settings)

    def shown(reach: Reach) -> set[str]:
        scope = {"type": "http", "app": app, "state": {"console_user": User("u", "operator", reach=reach)}}
        request = Request(scope)
        return {name for name in settings.channels if serves_within_reach(request, name)}

    assert shown(Reach.of([A])) == {"a-only"}
    assert shown(Reach.of([A, B])) == {"a-only", "b-only"}
    assert shown(Reach.PLATFORM) == {"everyone", "a-only", "b-only"}
    client, _ = console(platform, "op.a")
    assert client.get("/console/wechat/memory").status_code == 404


def test_the_overview_counts_only_the_deliveries_within_reach(platform: Platform) -> None:
    from pipeline.overview import build_overview
    from pipeline.tenancy import Reach

    def counted(reach: Reach) -> int:
        overview = build_overview(platform.cluster.services, None, reach)
        return sum(sum(ch.year.values()) for ch in overview.channels)

    with platform.engine().connect() as conn:
        per_agency = dict(
            conn.execute(
                select(db.deliveries.c.agency_code, func.count()).group_by(db.deliveries.c.agency_code)
            ).all()
        )
    assert counted(Reach.of([A])) == per_agency[A]
    assert counted(Reach.of([B])) == per_agency[B]
    assert counted(Reach.PLATFORM) == per_agency[A] + per_agency[B]
    scoped = build_overview(platform.cluster.services, None, Reach.of([A]))
    assert all(ch.facts == {} and ch.pages == [] for ch in scoped.channels)  # the platform's own
