"""Platform mode: one WeChat channel, one official account per agency (the sandbox serving
three appids), through real Celery workers, beat and ``govpub serve`` on PostgreSQL and
Redis db 10.

Agencies: the district (heads the tree: the instance's own account), 教育局 and 卫健局
(accounts of their own), a town (``use = "parent"``: the district's account) and a
department with no account (no WeChat delivery at all: ``agency_default = "head"``)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from channels.wechat.sandbox import SandboxServer, start
from channels.wechat.sandbox_account import Config
from channels.wechat.tables import jobs, outcomes
from pipeline import db
from pipeline.agencies import sync_toml
from pipeline.config import AgencyConfig, ChannelConfig
from pipeline.console.tables import audit_log
from pipeline.localcluster import LocalCluster
from tests.channels.wechat.cluster import FAST, govpub_cli, submit
from tests.channels.wechat.conftest import CALLBACK_TOKEN, CALLBACK_TOKEN_ENV, Driver
from tests.helpers import wait_until
from tests.pipeline.console_support import add_user, login

DISTRICT = "11370303004300000X"
JYJ = "113703030000000000"
WSJ = "11370303MB0000001A"
TOWN = "11370303MB0000002B"
NONE = "11370303MB0000003C"
NAMES = {
    DISTRICT: "张店区人民政府",
    JYJ: "张店区教育局",
    WSJ: "张店区卫生健康局",
    TOWN: "马尚街道",
    NONE: "张店区档案馆",
}
PATHS = {DISTRICT: "zdq", JYJ: "jyj", WSJ: "wsj", TOWN: "msjd", NONE: "daj"}


@pytest.fixture
def three() -> Iterator[SandboxServer]:
    """One sandbox, three accounts: the district's (first), 教育局's, 卫健局's."""
    tag = secrets.token_hex(5)
    configs = [Config(appid=f"wx{who}{tag}", publish_delay=0.5) for who in ("zdq", "jyj", "wsj")]
    server = start(config=configs[0], others=configs[1:])
    yield server
    server.shutdown()
    server.server_close()


def appids(sandbox: SandboxServer) -> dict[str, str]:
    own, jyj, wsj = list(sandbox.accounts)
    return {"": own, JYJ: jyj, WSJ: wsj}


def record(sandbox: SandboxServer, appid: str) -> dict[str, Any]:
    answer: dict[str, Any] = httpx.get(f"{sandbox.base_url}/sandbox/record", params={"appid": appid}).json()
    return answer


def control(sandbox: SandboxServer, appid: str, what: str, **body: Any) -> None:
    httpx.post(f"{sandbox.base_url}/sandbox/{what}", params={"appid": appid}, json=body).raise_for_status()


def agencies(sandbox: SandboxServer, wechat: str, **account: Any) -> dict[str, dict[str, Any]]:
    ids = appids(sandbox)
    declared: dict[str, dict[str, Any]] = {
        code: {"name": NAMES[code], "path": PATHS[code]}
        | ({"parent": DISTRICT, "kind": "department"} if code != DISTRICT else {"kind": "government"})
        for code in NAMES
    }
    for code in (JYJ, WSJ):
        declared[code]["channels"] = {wechat: {"appid": ids[code], **account}}
    declared[TOWN]["channels"] = {wechat: {"use": "parent"}}
    return declared


@pytest.fixture
def platform(
    tmp_path: Path, pg_url: str, wechat_redis: str, three: SandboxServer
) -> Iterator[Callable[..., tuple[LocalCluster, str, str]]]:
    """``build(account options…, **instance options)``: a cluster serving the five
    agencies; answers (cluster, website channel, wechat channel)."""
    made: list[LocalCluster] = []

    def build(account: dict[str, Any] | None = None, **options: Any) -> tuple[LocalCluster, str, str]:
        tag = secrets.token_hex(4)
        site, wechat = f"website_{tag}", f"wechat_{tag}"
        root = tmp_path / f"platform{len(made)}"
        opts = {
            "appid": appids(three)[""],
            "api_base_url": three.api_base_url,
            "poll_seconds": 0.3,
            "token_env": CALLBACK_TOKEN_ENV,
            **options,
        }
        channels = {
            site: {"kind": "memory", "options": {"path": str(root / "site")}},
            wechat: {"kind": "wechat", "depends_on": [site], "options": opts},
        }
        declared = agencies(three, wechat, **(account or {}))
        cluster = LocalCluster.create(root, pg_url, wechat_redis, channels, agencies=declared, **FAST)
        sync_toml(cluster.services.engine, cluster.settings, datetime.now(UTC))
        cluster.services.registry.forget()
        made.append(cluster)
        return cluster, site, wechat

    yield build
    for cluster in made:
        cluster.stop()


def submit_for(cluster: LocalCluster, code: str, n: int) -> None:
    submit(
        cluster, 1, first=n, agency={"name": NAMES[code], "code": code}, title=f"{NAMES[code]}公开信息 {n}"
    )


def wechat_rows(cluster: LocalCluster, wechat: str) -> list[Any]:
    with cluster.services.engine.connect() as conn:
        return list(
            conn.execute(
                select(db.deliveries).where(db.deliveries.c.channel == wechat).order_by(db.deliveries.c.id)
            ).all()
        )


def titles_of(cluster: LocalCluster, rows: list[Any]) -> dict[int, str]:
    with cluster.services.engine.connect() as conn:
        found = conn.execute(
            select(db.deliveries.c.id, db.revisions.c.title)
            .join(db.revisions, db.revisions.c.pk == db.deliveries.c.revision_pk)
            .where(db.deliveries.c.id.in_([r.id for r in rows]))
        ).all()
    return {r.id: r.title for r in found}


def test_each_agency_publishes_on_its_own_account_and_callbacks_name_the_account(
    platform: Callable[..., tuple[LocalCluster, str, str]], three: SandboxServer
) -> None:
    # poll_seconds long: only the callbacks (one URL per account) can finish the deliveries
    cluster, site, wechat = platform(poll_seconds=600)
    _, url = cluster.serve()
    ids = appids(three)
    for code, path in (("", ""), (JYJ, "/jyj"), (WSJ, "/wsj")):
        callback = f"{url}/wechat/callback/{wechat}{path}"
        control(three, ids[code], "config", callback_url=callback, callback_token=CALLBACK_TOKEN)
    cluster.worker(f"govpub.{site},govpub.{wechat}", concurrency=2)
    cluster.beat()
    for n, code in enumerate((JYJ, JYJ, WSJ, TOWN, DISTRICT, NONE), start=1):
        submit_for(cluster, code, n)

    def delivered() -> list[Any] | None:
        rows = wechat_rows(cluster, wechat)
        return rows if len(rows) == 5 and all(r.state == "delivered" for r in rows) else None

    rows = wait_until(delivered, 120, f"every delivery, finished by its account's callback\n{cluster.logs()}")
    titles = titles_of(cluster, rows)
    # no account of its own, none by configuration: no WeChat delivery at all
    assert NONE not in {r.agency_code for r in rows}
    assert len(rows) == 5
    expected = {"": {DISTRICT, TOWN}, JYJ: {JYJ}, WSJ: {WSJ}}
    for account, appid in ids.items():
        mine = [r for r in rows if r.external_ref["appid"] == appid]
        assert {r.agency_code for r in mine} == expected[account]
        assert {r.external_ref["account"] for r in mine} == {account}
        assert {r.progress["account"] for r in mine} == {account}  # chosen at the first attempt
        seen = record(three, appid)
        # the sandbox's record of this appid and govpub's log name the same articles
        assert sorted(p["title"] for p in seen["published"]) == sorted(titles[r.id] for r in mine)
        assert {p["article_id"] for p in seen["published"]} == {r.external_ref["article_id"] for r in mine}
        assert len(seen["callbacks"]) == len(mine)
    # every result came by its account's callback, kept in that account's records (the
    # sandbox numbers publish_ids per account: the same id on two accounts is two jobs)
    with cluster.services.engine.connect() as conn:
        kept = conn.execute(select(outcomes).where(outcomes.c.channel == wechat)).all()
    assert {(o.account, o.source) for o in kept} == {("", "callback"), (JYJ, "callback"), (WSJ, "callback")}
    first = [o.account for o in kept if o.job_id == "2000000001"]
    assert sorted(first) == ["", JYJ, WSJ]
    # the callback of an account nobody configured is not found; a wrong signature is refused
    assert httpx.get(f"{url}/wechat/callback/{wechat}/nope", params={"echostr": "x"}).status_code == 404
    assert httpx.get(f"{url}/wechat/callback/{wechat}/jyj", params={"echostr": "x"}).status_code == 403


def test_a_used_quota_on_one_account_does_not_hold_back_another(
    platform: Callable[..., tuple[LocalCluster, str, str]], three: SandboxServer
) -> None:
    cluster, site, wechat = platform({"mode": "broadcast", "broadcast_time": "23:59:59"})
    add_user(cluster.services, "root", "admin")
    ids = appids(three)
    control(three, ids[JYJ], "faults", path="message/mass/sendall", errcode=45028)  # 教育局: no quota left
    cluster.worker(f"govpub.{site},govpub.{wechat}", concurrency=2)
    cluster.beat()
    for n, code in enumerate((JYJ, JYJ, WSJ, WSJ, TOWN), start=1):
        submit_for(cluster, code, n)
    # the town publishes at once on the district's account (publish mode); the others wait
    wait_until(
        lambda: sorted(r.state for r in wechat_rows(cluster, wechat)) == ["delivered"] + ["waiting"] * 4,
        120,
        f"the day's sends gathering\n{cluster.logs()}",
    )
    done = govpub_cli(cluster, "wechat", "broadcast", "--now", "--channel", wechat, "--account", "jyj")
    assert done.returncode == 0, done.stderr
    assert NAMES[JYJ] in done.stdout
    # 卫健局's operator sends its account's send from the console, and sees no other account
    for user, code in (("wsj-op", WSJ), ("jyj-op", JYJ)):
        add_user(cluster.services, user, "operator", agencies=(code,))
    _, url = cluster.serve()
    with httpx.Client(base_url=url) as console:
        csrf = login(console, "wsj-op")  # type: ignore[arg-type]
        page = console.get(f"/console/wechat/{wechat}/wsj")
        assert page.status_code == 200 and NAMES[WSJ] in page.text and NAMES[JYJ] not in page.text
        for elsewhere in (f"/console/wechat/{wechat}/jyj", f"/console/wechat/{wechat}"):
            assert console.get(elsewhere).status_code == 404, elsewhere
        refused = console.post(f"/console/wechat/{wechat}/jyj/send-now", data={"csrf": csrf})
        assert refused.status_code == 404  # another agency's account: not found, nothing ordered
        sent = console.post(
            f"/console/wechat/{wechat}/wsj/send-now", data={"csrf": csrf}, follow_redirects=True
        )
        assert sent.status_code == 200 and "已下令立即群发" in sent.text

    def settled() -> list[Any] | None:
        rows = wechat_rows(cluster, wechat)
        wsj = [r for r in rows if r.agency_code == WSJ]
        jyj = [r for r in rows if r.agency_code == JYJ]
        held = all(r.state == "waiting" and "went out" not in (r.reason or "") for r in jyj)
        return rows if held and all(r.state == "delivered" for r in wsj) else None

    rows = wait_until(settled, 120, f"卫健局's send out, 教育局's held\n{cluster.logs()}")
    wsj_sends = record(three, ids[WSJ])["mass_sends"]
    assert len(wsj_sends) == 1 and len(wsj_sends[0]["titles"]) == 2
    assert {r.external_ref["msg_id"] for r in rows if r.agency_code == WSJ} == {wsj_sends[0]["msg_id"]}
    jyj = record(three, ids[JYJ])
    assert jyj["mass_sends"] == [] and [f["path"] for f in jyj["faults_used"]] == ["message/mass/sendall"]
    assert {r.state for r in rows if r.agency_code == JYJ} == {"waiting"}
    with cluster.services.engine.connect() as conn:  # 教育局's send: abandoned for want of quota
        [job] = conn.execute(select(jobs).where(jobs.c.channel == wechat, jobs.c.account == JYJ)).all()
    assert job.abandoned_at is not None and "45028" in job.note
    own = record(three, ids[""])
    assert own["mass_sends"] == [] and [p["title"] for p in own["published"]] == [f"{NAMES[TOWN]}公开信息 5"]
    quota = {q["account"]: q for q in cluster.services.channel(wechat).quotas()}  # type: ignore[attr-defined]
    assert (quota[WSJ]["used"], quota[JYJ]["used"], quota[""]["used"]) == (1, 0, 0)
    with httpx.Client(base_url=url) as console:  # the platform's administrator sees every account
        login(console, "root")  # type: ignore[arg-type]
        page = console.get(f"/console/wechat/{wechat}").text
        assert all(NAMES[code] in page for code in (JYJ, WSJ)) and "平台账号" in page
    with cluster.services.engine.connect() as conn:
        actions = conn.execute(select(audit_log.c.username, audit_log.c.detail)).all()
    assert ("wsj-op", f"{wechat} {WSJ}") in [tuple(a) for a in actions]


def test_a_delivery_stays_on_the_account_its_first_attempt_chose(
    build_driver: Callable[..., Driver], three: SandboxServer
) -> None:
    ids = appids(three)
    wechat = {
        "appid": ids[""],
        "api_base_url": three.api_base_url,
        "poll_seconds": 60,
    }
    declared = {
        DISTRICT: AgencyConfig(name=NAMES[DISTRICT], path="zdq", kind="government"),
        TOWN: AgencyConfig(
            name=NAMES[TOWN], parent=DISTRICT, path="msjd", channels={"wechat": {"use": "parent"}}
        ),
    }
    driver = build_driver(
        {
            "website": ChannelConfig(kind="memory"),
            "wechat": ChannelConfig(kind="wechat", depends_on=["website"], options=wechat),
        },
        agencies=declared,
    )
    services = driver.services
    sync_toml(services.engine, services.settings, driver.now)
    services.registry.forget()
    driver.submit(1, agency={"name": NAMES[TOWN], "code": TOWN})
    driver.run_due()
    [row] = driver.deliveries()
    assert row["state"] == "waiting" and row["progress"]["account"] == ""  # submitted, result awaited
    # the town gets an account of its own meanwhile: the submitted article stays where it is
    services.settings.agencies[TOWN] = AgencyConfig(
        name=NAMES[TOWN], parent=DISTRICT, path="msjd", channels={"wechat": {"appid": ids[JYJ]}}
    )
    services._channels.clear()
    driver.advance(61)
    wait_until(lambda: record(three, ids[""])["published"], 10, "the publication")
    driver.run_due()
    [row] = driver.deliveries()
    assert row["state"] == "delivered", row
    assert (row["external_ref"]["account"], row["external_ref"]["appid"]) == ("", ids[""])
    assert record(three, ids[JYJ])["submits"] == []
    # the next item of the town goes to its new account
    driver.submit(2, agency={"name": NAMES[TOWN], "code": TOWN})
    driver.run_due()
    assert driver.deliveries()[-1]["progress"]["account"] == TOWN
    assert len(record(three, ids[JYJ])["submits"]) == 1
