"""Freshness after publishing (pipeline.freshness): states at their limits, limits per
platform, category, sub-category and agency, and the columns of a real static site
through the intake, its worker and ``govpub freshness``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import update

from pipeline import db
from pipeline.cli.context import Installation
from pipeline.cli.main import main
from pipeline.config import AgencyConfig, FreshnessLimits, Settings
from pipeline.freshness import record
from pipeline.freshness.watch import Watched, column_limit, limits_for, watched
from pipeline.services import Services
from tests.channels.website_helpers import website
from tests.helpers import TEST_AGENCY, make_item, wait_until

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def seen(days: float | None, limit: float = 14, warn: float = 1) -> Watched:
    last = None if days is None else NOW - timedelta(days=days)
    return Watched("A", "account:wechat:", "account", "微信", limit, warn, last)


@pytest.mark.parametrize(
    ("days", "state"),
    [(None, "empty"), (0, "ok"), (12.99, "ok"), (13, "warn"), (13.99, "warn"), (14, "overdue")],
)
def test_states_at_their_limits(days: float | None, state: str) -> None:
    assert seen(days).state(NOW) == state
    key = seen(days).notice_key(NOW)
    assert (key is not None) == (state in ("warn", "overdue"))
    if key:  # a warning is its state and the publication it counts from
        assert key == f"{state}@{(NOW - timedelta(days=days or 0)).isoformat()}"


def test_limits_per_category_sub_category_and_agency() -> None:
    settings = Settings(
        channels={},
        freshness={"columns": {"政策法规": 90, "政策法规/人事管理": 365}},
        agencies={
            "A12345": AgencyConfig(freshness=FreshnessLimits(accounts_days=7, columns={"业务工作": 30}))
        },
    )
    platform = limits_for(settings, "B12345")
    assert platform.accounts_days == 14 and platform.warn_before_days == 1
    assert column_limit(platform, "政策法规", None) == 90
    assert column_limit(platform, "政策法规", "招生考试") == 90  # its category's
    assert column_limit(platform, "政策法规", "人事管理") == 365
    assert column_limit(platform, "工作动态", None) == 14  # news-like by its name
    assert column_limit(platform, "其他信息", "要闻") == 14
    assert column_limit(platform, "其他信息", None) == 180
    own = limits_for(settings, "A12345")
    assert own.accounts_days == 7 and own.warn_before_days == 1
    assert column_limit(own, "业务工作", None) == 30 and column_limit(own, "政策法规", None) == 90


@pytest.fixture
def settings(settings_for: Any, db_url: str, tmp_path: Path) -> Settings:
    built: Settings = settings_for(
        database_url=db_url,
        channels=website(tmp_path / "site"),
        freshness={"columns": {"政策法规": 14}},
    )
    return built


def test_columns_of_a_static_site(api: TestClient, auth: dict[str, str], services: Services) -> None:
    assert api.post("/v1/items", json=make_item(1), headers=auth).status_code == 202  # 政策法规/招生考试

    def published() -> list[Watched]:
        found = {w.subject: w for w in watched(services)}
        return list(found.values()) if found["column:政策法规"].last_at else []

    rows = wait_until(published, 60, "the item on the site")
    by_subject = {w.subject: w for w in rows}
    assert {w.agency for w in rows} == {TEST_AGENCY} and {w.kind for w in rows} == {"column"}
    assert len(rows) == 4 + 4 * 7  # the default taxonomy: four categories of seven sub-categories
    assert by_subject["column:政策法规/招生考试"].last_at == by_subject["column:政策法规"].last_at
    now = services.clock()
    assert by_subject["column:政策法规"].state(now) == "ok"
    assert by_subject["column:规划计划"].state(now) == "empty"
    assert by_subject["column:规划计划"].limit_days == 180

    d = db.deliveries
    with services.engine.begin() as conn:  # published 13 days ago
        conn.execute(update(d).values(delivered_at=now - timedelta(days=13)))
    problems = CliRunner().invoke(
        main, ["freshness", "--problems", "--json"], obj=Installation(services=services)
    )
    assert problems.exit_code == 0, problems.output
    lines = [json.loads(line) for line in problems.output.splitlines()]
    states = {line["subject"]: line["state"] for line in lines}
    assert states["column:政策法规"] == "warn" and states["column:政策法规/招生考试"] == "warn"
    assert states["column:规划计划"] == "empty" and "column:规划计划/人事管理" in states
    assert 12.9 < next(x["days_since"] for x in lines if x["subject"] == "column:政策法规") < 13.1

    with services.engine.begin() as conn:
        conn.execute(update(d).values(delivered_at=now - timedelta(days=15)))
    table = CliRunner().invoke(
        main, ["freshness", "--agency", TEST_AGENCY], obj=Installation(services=services)
    )
    assert table.exit_code == 1  # something is overdue
    assert "政策法规\t" in table.output and "已超期" in table.output

    unknown = CliRunner().invoke(
        main, ["freshness", "--agency", "NOPE123"], obj=Installation(services=services)
    )
    assert unknown.exit_code == 1 and "no agency NOPE123 is registered" in unknown.output

    record.save(services.engine, watched(services), now)
    summary = record.summary(services.engine, now)
    assert [w.subject for w in summary.problems][:2] == ["column:政策法规", "column:政策法规/招生考试"]
    assert len(summary.empty) == 4 + 4 * 7 - 2
