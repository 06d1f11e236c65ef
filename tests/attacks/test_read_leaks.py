"""Leaks in read endpoints, against a running ``govpub serve``.

The annual report's statutory figures are public; titles, withdrawal reasons and the
delivery log are for the console's users (and a source, for its own items). A
source reading its item sees states and public links, never a receipt or a worker.
And no answer, to anyone, carries a path of the installation: the test sweeps every
GET route (and the console's pages as an operator) for the data folder, with an
archive receiver whose drop folder fails (its error names a path) and one whose
receipts name the files they wrote.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from pipeline import db
from pipeline.app import create_app
from tests.attacks.serving import Served, serve_for
from tests.channels.archive_support import receiver_options
from tests.helpers import api_routes, ensure_agency, make_item, wait_until
from tests.pipeline.console_support import PASSWORD, add_user, login

SECRET_REASON = "申请人身份证号 370303199001011234 误登"
TITLE = "内部征求意见稿（未定稿）"
WAITING = ("pending", "queued", "sending", "retrying")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("leaks")
    data = root / "govpub" / "data"
    data.mkdir(parents=True)
    (data / "not-a-folder").write_text("the failing receiver's drop is a file", encoding="utf-8")
    channels = {
        "memory": {"kind": "memory"},
        "website": {"kind": "website"},
        "feed": {"kind": "feed"},
        "library": {"kind": "archive", "options": receiver_options(data / "library", schedule="per-item")},
        "broken": {
            "kind": "archive",
            "max_attempts": 1,
            "options": receiver_options(data / "not-a-folder" / "drop", schedule="per-item"),
        },
    }
    with serve_for(root / "govpub", f"sqlite:///{root / 'govpub.db'}", channels) as running:
        add_user(running.cluster.services, "li.wei", "operator")
        scope(running.cluster.services.engine, "li.wei", "113703030000000000")  # the items' agency
        with httpx.Client(base_url=running.url, headers=running.auth(), timeout=60) as http:
            for n in (1, 2):
                assert http.post("/v1/items", json=make_item(n, title=TITLE)).status_code == 202
            wait_until(lambda: settled(running), 60, "the deliveries")
            retracted = http.request("DELETE", "/v1/items/test/t-2", json={"reason": SECRET_REASON})
            assert retracted.status_code == 202
            wait_until(lambda: settled(running), 60, "the retraction")
        yield running


def scope(engine: Any, username: str, code: str) -> None:
    """An operator reaches their agency's items (pipeline.tenancy): register it, scope them."""
    from pipeline.agencies import Agency
    from pipeline.console.tables import console_user_agencies

    ensure_agency(engine, Agency(code, "张店区教育局"))  # registered already by the cluster
    with engine.begin() as conn:
        conn.execute(console_user_agencies.insert().values(username=username, agency_code=code))


def settled(served: Served) -> bool:
    with served.cluster.services.engine.connect() as conn:
        states = conn.execute(select(db.deliveries.c.state)).scalars().all()
    return bool(states) and not any(s in WAITING for s in states)


def this_year() -> int:
    return datetime.now(ZoneInfo("Asia/Shanghai")).year


def paths_of(served: Served) -> list[str]:
    return [str(served.data_dir), str(served.data_dir.resolve())]


def test_the_report_is_figures_only_without_a_login(served: Served) -> None:
    answer = httpx.get(f"{served.url}/v1/reports/{this_year()}")
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["counts"]["totals"]["portal"] == 2 and report["counts"]["retractions"] == 1
    assert TITLE not in answer.text and "370303199001011234" not in answer.text
    assert not {"warnings", "figures_source"} & set(report) and "log" not in report["counts"]
    assert "late_items" not in report["counts"]["timeliness"]


def test_a_source_sees_its_own_items_in_the_report_and_no_one_elses(served: Served) -> None:
    url = f"{served.url}/v1/reports/{this_year()}"
    own = httpx.get(url, headers=served.auth()).json()
    assert [r["reason"] for r in own["counts"]["retractions"]["items"]] == [SECRET_REASON]
    assert own["counts"]["log"] == [] and own["warnings"] == []
    other = served.cluster.services.store.add_source("other")
    theirs = httpx.get(url, headers=served.auth(other))
    assert theirs.status_code == 200 and SECRET_REASON not in theirs.text and TITLE not in theirs.text
    assert httpx.get(url, headers=served.auth("gp_forged")).status_code == 401


def test_the_console_sees_the_whole_report(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=60) as browser:
        login(browser, "li.wei", PASSWORD)
        report = browser.get(f"/console/reports/{this_year()}").json()
    assert [r["reason"] for r in report["counts"]["retractions"]["items"]] == [SECRET_REASON]
    assert report["counts"]["log"] and {i["title"] for i in report["counts"]["timeliness"]["late_items"]} == {
        TITLE
    }
    assert httpx.get(f"{served.url}/console/reports/{this_year()}").status_code == 303  # no session


def test_a_source_reads_states_and_links_never_receipts(served: Served) -> None:
    status = httpx.get(f"{served.url}/v1/items/test/t-1", headers=served.auth()).json()
    by_channel = {d["channel"]: d for d in status["deliveries"]}
    assert by_channel["library"]["state"] == "delivered" and by_channel["broken"]["state"] == "dead"
    for delivery in status["deliveries"]:
        assert not {"external_ref", "claimed_by", "lease_until", "claim_no", "item_pk"} & set(delivery)
        assert all(link.startswith("http") for link in delivery["links"].values())
    assert by_channel["website"]["links"]["url"].startswith("http")
    assert "package" not in str(by_channel["library"]) and "receipt" not in str(by_channel["library"])


def test_the_overview_carries_no_receipt(served: Served) -> None:
    overview = httpx.get(f"{served.url}/v1/overview").json()
    for channel in overview["channels"]:
        assert "external_ref" not in (channel["last_delivered"] or {})


def get_urls(served: Served) -> list[str]:
    """Every GET route of the app with its path parameters filled in."""
    values = {
        "year": str(this_year()),
        "source": "test",
        "item_id": "t-1",
        "item_pk": "1",
        "delivery_id": "1",
        "file_name": "all.rss",
        "path": "index.html",
        "name": "library",
    }
    app = create_app(served.cluster.settings, served.cluster.services)
    urls = set()
    for path, route in api_routes(app):
        if "GET" in route.methods:
            urls.add(re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values[m.group(1)], path))
    return sorted(urls)


def test_no_answer_carries_a_path_of_the_installation(served: Served) -> None:
    urls = get_urls(served)
    assert {"/v1/overview", "/v1/items/test/t-1", f"/v1/reports/{this_year()}", "/console/items/1"} <= set(
        urls
    )
    seen: dict[str, Any] = {}
    with (
        httpx.Client(base_url=served.url, timeout=60) as stranger,
        httpx.Client(base_url=served.url, headers=served.auth(), timeout=60) as source,
        httpx.Client(base_url=served.url, timeout=60) as operator,
    ):
        login(operator, "li.wei", PASSWORD)
        for url in [*urls, "/console/items/2", "/console/deliveries?state=failing", "/console/items?q=内部"]:
            for who, client in (("stranger", stranger), ("source", source), ("operator", operator)):
                answer = client.get(url)
                seen[f"{who} {url}"] = answer.status_code
                for path in paths_of(served):
                    assert path not in answer.text, f"{who} GET {url} shows {path}"
    assert seen["operator /console/items/1"] == 200 and seen["source /v1/items/test/t-1"] == 200
    # the failing receiver's error and the receipts are there, without the path
    page = httpx.Client(base_url=served.url)
    login(page, "li.wei", PASSWORD)
    item = page.get("/console/items/1").text
    assert "…/" in item and "library-" in item
