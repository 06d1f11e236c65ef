"""Platform mode on the website: one column per agency, the portal above them, through a
real Celery worker (PostgreSQL, Redis) and through ``govpub serve``'s routes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from pipeline import agencies
from pipeline.agencies import Agency
from pipeline.app import create_app
from pipeline.cli.main import main
from pipeline.localcluster import LocalCluster
from pipeline.services import Services
from tests.channels.website_helpers import settled, snapshot, touched, website
from tests.helpers import ensure_agency, make_item, wait_until

A, B = "113703030000000000", "113703030000000099"
A_PATH, B_PATH = "jyj", "msjd"
B_TAXONOMY = {"政策法规": ["综合性业务"], "业务工作": ["人事管理"]}
NOW = datetime(2026, 12, 1, tzinfo=UTC)
FAST = {"retry_base_seconds": 0.1, "retry_max_seconds": 0.5, "sweep_interval_seconds": 0.2}


def register(services: Services) -> None:
    head = Agency(code="11370303004300000X", name="张店区人民政府", kind="government", path="qzf")
    ensure_agency(services.engine, head)  # the tests' agency may be registered already
    ensure_agency(services.engine, Agency(code=A, name="张店区教育局", parent=head.code, path=A_PATH))
    b = Agency(code=B, name="马尚街道办事处", parent=head.code, kind="subdistrict", path=B_PATH)
    ensure_agency(services.engine, Agency(**{**b.__dict__, "taxonomy": B_TAXONOMY}))
    services.registry.forget()


def of_b(n: int, **changes: Any) -> dict[str, Any]:
    return make_item(
        f"b{n}",
        agency={"code": B, "name": "马尚街道办事处"},
        category="政策法规",
        subcategory="综合性业务",
        **changes,
    )


def keys_in(page: Path) -> list[str]:
    return re.findall(r'href="[^"]*items/([0-9A-Za-z-]+)\.html"', page.read_text("utf-8"))


@pytest.fixture
def cluster(tmp_path: Path, pg_url: str, redis_url: str) -> Iterator[LocalCluster]:
    channels = {
        "website": {"kind": "website", "options": {"output_dir": str(tmp_path / "site"), "page_size": 5}}
    }
    built = LocalCluster.create(tmp_path / "cluster", pg_url, redis_url, channels, **FAST)
    yield built
    built.stop()


def delivered(cluster: LocalCluster, count: int) -> None:
    def done() -> bool:
        return cluster.services.store.counts().get("website", {}) == {"delivered": count}

    wait_until(done, 90, f"{count} website deliveries\n{cluster.logs()}")


def test_each_agency_gets_its_own_column_and_the_portal_lists_them(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    register(cluster.services)
    cluster.worker("govpub.website", concurrency=2)
    site = tmp_path / "site"
    token = cluster.services.store.add_source("test", [A, B])  # bound to both agencies
    auth = {"authorization": f"Bearer {token}"}
    with TestClient(create_app(cluster.settings, cluster.services)) as api:
        items = [make_item("a1", generated_on="2025-03-01"), make_item("a2", generated_on="2026-04-01")]
        items.append(of_b(1, generated_on="2026-05-01"))
        answers = api.post("/v1/items:batch", json={"items": items}, headers=auth).json()
        assert [a["status"] for a in answers] == [202, 202, 202], answers
        a1, a2, b1 = (a["receipt"]["index_no"].replace("/", "-") for a in answers)
        delivered(cluster, 3)

        # each item in its own agency's column, and only there
        assert keys_in(site / A_PATH / "index.html") == [a2, a1]
        assert keys_in(site / B_PATH / "index.html") == [b1]
        assert (site / A_PATH / f"items/{a1}.html").exists() and (site / B_PATH / f"items/{b1}.html").exists()
        assert not (site / B_PATH / f"items/{a1}.html").exists() and not (site / "items").exists()
        assert [e["n"] for e in json.loads((site / B_PATH / "search/2026.json").read_text())] == [
            b1.replace(f"{B}-", f"{B}/")
        ]
        assert f"/site/{B_PATH}/items/{b1}.html</loc>" in (site / B_PATH / "sitemaps/2026.xml").read_text()
        assert f"/site/{A_PATH}/items/" not in (site / B_PATH / "sitemaps/2026.xml").read_text()
        # the column's own taxonomy: B's navigation and listings follow it
        b_front = (site / B_PATH / "index.html").read_text("utf-8")
        assert "规划计划" not in b_front and "规划计划" in (site / A_PATH / "index.html").read_text("utf-8")
        assert (site / B_PATH / "category/政策法规/综合性业务/index.html").exists()
        assert not (site / B_PATH / "category/规划计划").exists()
        assert "马尚街道办事处信息公开" in b_front

        # the portal: columns by kind, the latest list of all, the cross-agency search
        portal = (site / "index.html").read_text("utf-8")
        for label, path in (("政府部门", A_PATH), ("街道", B_PATH)):
            assert label in portal and f'href="{path}/index.html"' in portal
        assert "区政府" in portal and "张店区人民政府信息公开（暂无信息）" in portal  # nothing published yet
        assert 'href="qzf/' not in portal
        assert keys_in(site / "latest/index.html") == [b1, a2, a1]
        # the cross-agency search: served from the database, every column or one
        everywhere = api.get("/site/search", params={"q": "测试公开信息"})
        assert everywhere.status_code == 200 and everywhere.headers["x-content-type-options"] == "nosniff"
        found = re.findall(r'href="([^"]*items/[^"]+)\.html"', everywhere.text)
        assert found == [f"{B_PATH}/items/{b1}", f"{A_PATH}/items/{a2}", f"{A_PATH}/items/{a1}"]
        only_b = api.get("/site/search", params={"q": "测试公开信息", "agency": B}).text
        assert re.findall(r'items/([^"]+)\.html"', only_b) == [b1]
        by_index_no = api.get("/site/search", params={"q": a1.replace(f"{A}-", f"{A}/")}).text
        assert re.findall(r'items/([^"]+)\.html"', by_index_no) == [a1]
        assert "没有找到信息" in api.get("/site/search", params={"q": "<script>"}).text
        assert "<script>" not in api.get("/site/search", params={"q": "<script>"}).text.split("</head>")[1]
        sitemap = (site / "sitemap.xml").read_text()
        assert (
            f"/site/{A_PATH}/sitemaps/2025.xml" in sitemap and f"/site/{B_PATH}/sitemaps/2026.xml" in sitemap
        )

        # a new item of A: A's pages and the portal's latest list change, B's files do not
        before = snapshot(site)
        a3_answer = api.post(
            "/v1/items", json=make_item("a3", generated_on="2026-06-01"), headers=auth
        ).json()
        a3 = a3_answer["index_no"].replace("/", "-")
        delivered(cluster, 4)
        changed = touched(before, snapshot(site))
        assert f"{A_PATH}/items/{a3}.html" in changed and "latest/index.html" in changed
        assert not [p for p in changed if p.startswith(f"{B_PATH}/")], changed
        assert {p.split("/", 1)[0] for p in changed} <= {A_PATH, "latest"}, changed
        assert keys_in(site / "latest/index.html")[:2] == [a3, b1]

        for path in ("/site/", f"/site/{A_PATH}/items/{a3}.html", f"/site/{B_PATH}/", "/site/latest/"):
            assert api.get(path).status_code == 200, path
        page = (site / A_PATH / f"items/{a3}.html").read_text("utf-8")
        assert f'<meta name="Url" content="http://127.0.0.1:8000/site/{A_PATH}/items/{a3}.html">' in page
        assert 'href="../../index.html">平台首页</a>' in page


@pytest.fixture
def settings(settings_for: Any, db_url: str, tmp_path: Path) -> Any:
    site = tmp_path / "data" / "site"
    return settings_for(database_url=db_url, embedded_workers=2, channels=website(site, page_size=5))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_old_addresses_and_former_paths_answer_301(
    tmp_path: Path, services: Services, api: TestClient, auth: dict[str, str]
) -> None:
    site = tmp_path / "data" / "site"
    register(services)
    answer = api.post("/v1/items", json=make_item(1, generated_on="2026-03-01"), headers=auth).json()
    key = answer["index_no"].replace("/", "-")
    settled(api, auth, "t-1")
    assert (site / A_PATH / f"items/{key}.html").exists()

    # the single column of before platform mode: its pages at the top of the folder
    (site / "items").mkdir()
    (site / A_PATH / f"items/{key}.html").rename(site / f"items/{key}.html")
    (site / "category/政策法规").mkdir(parents=True)
    (site / "category/政策法规/index.html").write_text("old listing", "utf-8")
    served = api.get(f"/site/items/{key}.html", follow_redirects=False)
    assert served.status_code == 200  # still there until the rebuild moves it
    lines = CliRunner().invoke(main, ["site", "rebuild"], env=services_env(services))
    assert lines.exit_code == 0, lines.output
    assert f"[2/3] {A} 张店区教育局: /{A_PATH}/ rebuilt" in lines.output
    assert (site / A_PATH / f"items/{key}.html").exists() and not (site / "items").exists()
    assert not (site / "category").exists()
    moved = api.get(f"/site/items/{key}.html", follow_redirects=False)
    assert moved.status_code == 301 and moved.headers["location"] == f"/site/{A_PATH}/items/{key}.html"
    several = api.get("/site/category/政策法规/index.html", follow_redirects=False)
    assert several.status_code == 301 and several.headers["location"] == "/site/"  # three columns now

    # a column that moves: the old path redirects, links follow the registry
    agencies.edit(services.engine, A, NOW, path="edu")
    services.registry.forget()
    api.post("/v1/items", json=make_item(2, generated_on="2026-04-01"), headers=auth)
    settled(api, auth, "t-2")
    assert (site / "edu" / f"items/{key}.html").exists() and not (site / A_PATH).exists()
    old = api.get(f"/site/{A_PATH}/items/{key}.html", follow_redirects=False)
    assert old.status_code == 301 and old.headers["location"] == f"/site/edu/items/{key}.html"
    assert api.get(old.headers["location"]).status_code == 200
    assert 'href="edu/index.html"' in (site / "index.html").read_text("utf-8")

    # a retired agency: apart on the portal, its column still served
    agencies.retire(services.engine, B, NOW)
    services.registry.forget()
    result = CliRunner().invoke(main, ["site", "rebuild", "--portal"], env=services_env(services))
    assert result.exit_code == 0, result.output
    portal = (site / "index.html").read_text("utf-8")
    assert portal.index("已撤销单位") < portal.index(f'href="{B_PATH}/index.html"')
    assert api.get(f"/site/{B_PATH}/").status_code == 200


def services_env(services: Services) -> dict[str, str]:
    """The CLI reaching the test's installation (its database, its site folder)."""
    settings = services.settings
    channels = {n: c.model_dump(mode="json") for n, c in settings.channels.items()}
    return {
        "GOVPUB_DATABASE_URL": settings.database_url,
        "GOVPUB_DATA_DIR": str(settings.data_dir),
        "GOVPUB_CONFIG": "",
        "GOVPUB_CHANNELS": json.dumps(channels),
    }


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_rebuild_of_one_column_or_the_portal(services: Services, tmp_path: Path) -> None:
    register(services)
    env = services_env(services)
    one = CliRunner().invoke(main, ["site", "rebuild", "--agency", B], env=env)
    assert one.exit_code == 0, one.output
    site = tmp_path / "data" / "site"
    assert f"[1/1] {B} 马尚街道办事处: /{B_PATH}/ rebuilt" in one.output
    assert (site / B_PATH / "index.html").exists() and not (site / A_PATH).exists()
    assert (site / "index.html").exists() and (site / "latest/index.html").exists()
    unknown = CliRunner().invoke(main, ["site", "rebuild", "--agency", "999999999"], env=env)
    assert unknown.exit_code != 0 and "no agency 999999999" in unknown.output
    both = CliRunner().invoke(main, ["site", "rebuild", "--agency", B, "--portal"], env=env)
    assert both.exit_code != 0 and "one or the other" in both.output
