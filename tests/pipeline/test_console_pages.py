"""The console's pages and the overview they share with /v1/overview, on SQLite and
PostgreSQL: counts by period in Asia/Shanghai, filters, pagination, search, retraction."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from pipeline import db, recount
from pipeline.app import create_app
from pipeline.model import ItemIn
from pipeline.overview import build_overview
from pipeline.services import Services
from tests.helpers import make_item
from tests.pipeline.console_support import add_user, login, post

NOW = datetime(2018, 1, 1, 2, 0, tzinfo=UTC)  # 10:00 on Monday 1 January 2018 in Shanghai


class Parked:
    """A dispatcher that keeps what it is sent: nothing is delivered behind the test's back."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []

    def depth(self, channel: str) -> int | None:

        return None

    def send(self, work: list[tuple[int, str]]) -> None:
        self.sent += work


def accept(services: Services, n: int, at: datetime, source: str = "oa", **changes: Any) -> int:
    item = ItemIn.model_validate({**make_item(n, **changes), "source": source})
    return services.store.accept(item, services.channels_for(item.agency.code, None), now=at).item_pk


def set_state(services: Services, item_pk: int, state: str, **values: Any) -> None:
    with services.engine.begin() as conn:
        conn.execute(
            update(db.deliveries).where(db.deliveries.c.item_pk == item_pk).values(state=state, **values)
        )
        recount.rewrite(conn)  # written past pipeline/deliveries.py: counters from the log


@pytest.fixture
def parked() -> Parked:
    return Parked()


@pytest.fixture
def client(services: Services, parked: Parked) -> Iterator[TestClient]:
    services.clock = lambda: NOW
    add_user(services, "ops", "operator")
    with TestClient(create_app(services.settings, services, dispatcher=parked)) as client:
        login(client, "ops")
        yield client


def test_overview_counts_by_period_in_shanghai_time(services: Services, client: TestClient) -> None:
    accept(services, 1, datetime(2017, 12, 31, 20, 0, tzinfo=UTC))  # 2018-01-01 04:00 in Shanghai
    accept(services, 2, datetime(2017, 12, 31, 15, 0, tzinfo=UTC))  # 2017-12-31 23:00: last year
    dead = accept(services, 3, datetime(2017, 12, 31, 16, 30, tzinfo=UTC))  # 00:30 on 1 January
    set_state(services, dead, "dead", last_error_class="PermanentError", last_error="refused")
    held = accept(services, 4, datetime(2017, 12, 31, 17, 0, tzinfo=UTC))
    set_state(services, held, "held", reason="held by checks: personal@title: 手机号码 138****5678")
    overview = build_overview(services)
    memory = next(ch for ch in overview.channels if ch.name == "memory")
    assert memory.today == memory.week == memory.year == {"pending": 1, "dead": 1, "held": 1}
    assert memory.oldest_waiting is not None
    assert memory.oldest_waiting["age_seconds"] == 11 * 3600  # item 2, accepted 11 hours before NOW
    body = client.get("/v1/overview").json()
    assert body["channels"][0]["year"] == {"pending": 1, "dead": 1, "held": 1}
    page = client.get("/console/").text
    assert "失败待处理" in page and "已等 11 小时" in page
    assert "state=held" in page and "1 条，去放行" in page  # what waits for an operator


def test_deliveries_filter_by_state_source_channel_and_date(services: Services, client: TestClient) -> None:
    old = accept(services, 1, datetime(2017, 12, 31, 15, 0, tzinfo=UTC), source="oa")
    dead = accept(services, 2, NOW, source="hr", title="人事任免通知")
    set_state(services, dead, "dead", last_error_class="PermanentError", last_error="IP 不在白名单")
    set_state(services, old, "delivered")
    held = accept(services, 3, NOW, source="hr")
    set_state(services, held, "held", reason="held by checks: expressions@body line 1: 两岸三地")

    def ids(query: str) -> list[str]:
        page = client.get(f"/console/deliveries?{query}").text
        return [chunk.split('"')[0] for chunk in page.split('id="delivery-')[1:]]

    assert ids("") == ["3", "2", "1"]
    assert ids("state=failing") == ["3", "2"]  # held waits for an operator too
    assert ids("state=delivered") == ["1"]
    assert ids("source=hr") == ["3", "2"]
    assert ids("channel=memory&source=oa") == ["1"]
    assert ids("channel=elsewhere") == []
    assert ids("date_from=2018-01-01") == ["3", "2"]  # Shanghai dates: item 1 is 31 December
    assert ids("date_to=2017-12-31") == ["1"]
    failing = client.get("/console/deliveries?state=failing").text
    assert "IP 不在白名单" in failing and "永久性错误" in failing


def test_deliveries_are_paginated_newest_first(services: Services, client: TestClient) -> None:
    for n in range(60):
        accept(services, n, NOW)
    first = client.get("/console/deliveries").text
    assert first.count('id="delivery-') == 50
    assert 'id="delivery-60"' in first and "before=11" in first
    second = client.get("/console/deliveries?before=11").text
    assert second.count('id="delivery-') == 10 and "下一页" not in second


def test_item_search_by_title_or_index_no(services: Services, client: TestClient) -> None:
    accept(services, 1, NOW, title="招生工作实施方案")
    accept(services, 2, NOW, title="财务预算公开", index_no="113703030000000000/2018-00042")
    assert "招生工作实施方案" in client.get("/console/items?q=招生").text
    assert "财务预算公开" not in client.get("/console/items?q=招生").text
    found = client.get("/console/items?q=113703030000000000/2018-00042").text
    assert "财务预算公开" in found and "招生工作" not in found
    assert "没有找到" in client.get("/console/items?q=100%25").text  # LIKE wildcards are literal


def test_an_operator_retracts_an_item_with_a_reason_and_confirmation(
    services: Services, client: TestClient, parked: Parked
) -> None:
    item_pk = accept(services, 1, NOW)
    set_state(
        services,
        item_pk,
        "delivered",
        delivered_at=NOW,
        external_ref={"url": "https://example.gov.cn/a.html"},
    )
    page = client.get(f"/console/items/{item_pk}").text
    assert 'href="https://example.gov.cn/a.html"' in page
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    unconfirmed = post(client, f"/console/items/{item_pk}/retract", csrf=csrf, reason="内容有误")
    assert (
        "勾选确认" in unconfirmed.headers["location"]
        or "%E5%8B%BE%E9%80%89" in unconfirmed.headers["location"]
    )
    assert services.store.item_status("oa", "t-1")["retracted_at"] is None
    done = post(client, f"/console/items/{item_pk}/retract", csrf=csrf, reason="内容有误", confirm="yes")
    assert done.status_code == 303
    status = services.store.item_status("oa", "t-1")
    assert status["retract_reason"] == "内容有误"
    assert [(d["action"], d["state"]) for d in status["deliveries"]] == [
        ("publish", "delivered"),
        ("retract", "queued"),
    ]
    assert parked.sent == [(status["deliveries"][1]["id"], "memory")]
    timeline = client.get(f"/console/items/{item_pk}").text
    assert "撤回信息：内容有误" in timeline and "撤回这条信息" not in timeline


class QuotaChannel:
    """A channel with a quota and nothing more to say (:class:`pipeline.channel.HasQuota`)."""

    def quota(self) -> dict[str, object]:
        return {"period": "2018-01-01", "limit": 1, "used": 1, "remaining": 0}


class TalkingChannel(QuotaChannel):
    """A channel that says more than its quota (:class:`pipeline.channel.HasOverviewFacts`)."""

    def overview_facts(self) -> dict[str, str]:
        return {"下次发送": "2018-01-02 18:00"}


def test_the_overview_shows_what_a_channel_says_about_its_quota(
    services: Services, client: TestClient
) -> None:
    services._channels["memory"] = QuotaChannel()  # type: ignore[assignment]
    page = client.get("/console/?fragment=1").text
    assert "额度" in page and "2018-01-01：已用 1 / 1，剩余 0" in page
    services._channels["memory"] = TalkingChannel()  # type: ignore[assignment]
    page = client.get("/console/?fragment=1").text
    assert "下次发送" in page and "2018-01-02 18:00" in page and "已用 1 / 1" not in page
