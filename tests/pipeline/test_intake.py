"""The intake API: accepted items get delivered; bad input stores nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pipeline import db
from pipeline.services import Services
from tests.helpers import make_item, wait_until


def stored(services: Services) -> tuple[int, int, int]:
    with services.engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (db.items, db.revisions, db.deliveries)
        )


def test_submitted_item_is_delivered_with_one_event_per_attempt(
    api: TestClient, auth: dict[str, str], services: Services
) -> None:
    answer = api.post("/v1/items", json=make_item(1), headers=auth)
    assert answer.status_code == 202, answer.text
    index_no = answer.json()["index_no"]
    assert index_no == "113703030000000000/2017-00001"

    def delivered() -> Any:
        body = api.get("/v1/items/test/t-1", headers=auth).json()
        return body if all(d["state"] == "delivered" for d in body["deliveries"]) else None

    body = wait_until(delivered, what="delivery")
    assert [d["channel"] for d in body["deliveries"]] == ["memory"]
    events = services.store.events(body["deliveries"][0]["id"])
    assert [(e["attempt"], e["outcome"]) for e in events] == [(1, "delivered")]


def test_resubmission_is_answered_with_the_existing_item(
    api: TestClient, auth: dict[str, str], services: Services
) -> None:
    first = api.post("/v1/items", json=make_item(1), headers=auth)
    again = api.post("/v1/items", json=make_item(1), headers=auth)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["index_no"] == first.json()["index_no"]
    changed = api.post("/v1/items", json=make_item(1, summary="不同"), headers=auth)
    assert changed.status_code == 409
    assert stored(services) == (1, 1, 1)


def test_a_lower_revision_is_refused(api: TestClient, auth: dict[str, str]) -> None:
    assert api.post("/v1/items", json=make_item(1, revision=3), headers=auth).status_code == 202
    answer = api.post("/v1/items", json=make_item(1, revision=2), headers=auth)
    assert answer.status_code == 409
    assert answer.json()["error"] == "stale_revision"


def approval_without(kind: str) -> dict[str, Any]:
    approval = make_item()["approval"]
    approval["checks"] = [c for c in approval["checks"] if c["kind"] != kind]
    return approval


def failed_check() -> dict[str, Any]:
    approval = make_item()["approval"]
    approval["checks"][0]["result"] = "fail"
    return approval


@pytest.mark.parametrize(
    ("item", "status", "says"),
    [
        (make_item(approval=approval_without("legality")), 422, "legality check"),
        (make_item(approval=failed_check()), 422, "did not pass"),
        (make_item(approval={"checks": []}), 422, "form_no"),
        (make_item(category="娱乐新闻"), 422, "category"),
        (make_item(revision="two"), 422, "revision"),
        (make_item(generated_on="2017-13-40"), 422, "generated_on"),
        (make_item(channels=["carrier-pigeon"]), 422, "channels"),
        (make_item(source="someone-else"), 403, "cannot submit"),
    ],
)
def test_bad_items_are_refused_and_nothing_is_stored(
    api: TestClient,
    auth: dict[str, str],
    services: Services,
    item: dict[str, Any],
    status: int,
    says: str,
) -> None:
    answer = api.post("/v1/items", json=item, headers=auth)
    assert answer.status_code == status, answer.text
    assert says in json.dumps(answer.json(), ensure_ascii=False)
    assert stored(services) == (0, 0, 0)


def test_missing_approval_lists_every_problem(api: TestClient, auth: dict[str, str]) -> None:
    answer = api.post("/v1/items", json=make_item(approval={}), headers=auth)
    details = answer.json()["details"]
    assert answer.status_code == 422
    assert len(details) == 5  # form, three checks, approver


def test_malformed_json_and_oversized_bodies(
    api: TestClient, auth: dict[str, str], services: Services
) -> None:
    bad = api.post("/v1/items", content=b'{"id": ', headers={**auth, "content-type": "application/json"})
    assert bad.status_code == 400
    limit = services.settings.max_body_bytes
    huge = api.post(
        "/v1/items", content=b"x" * (limit + 1), headers={**auth, "content-type": "application/json"}
    )
    assert huge.status_code == 413
    assert stored(services) == (0, 0, 0)


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic abc"])
def test_no_or_wrong_token_is_401(api: TestClient, services: Services, header: str | None) -> None:
    headers = {"authorization": header} if header else {}
    assert api.post("/v1/items", json=make_item(), headers=headers).status_code == 401
    assert stored(services) == (0, 0, 0)


def test_a_source_cannot_touch_another_sources_item(
    api: TestClient, auth: dict[str, str], services: Services
) -> None:
    assert api.post("/v1/items", json=make_item(1), headers=auth).status_code == 202
    other = {"authorization": f"Bearer {services.store.add_source('other')}"}
    assert api.get("/v1/items/test/t-1", headers=other).status_code == 403
    # its own path: test's t-1 is not other's t-1, answered as an id nobody used (no oracle)
    gone = api.request("DELETE", "/v1/items/other/t-1", json={"reason": "错误"}, headers=other)
    never = api.request("DELETE", "/v1/items/other/t-9", json={"reason": "错误"}, headers=other)
    assert gone.status_code == never.status_code == 404
    assert gone.json()["error"] == never.json()["error"] == "not_found"
    gone = api.request("DELETE", "/v1/items/test/t-1", json={"reason": "错误"}, headers=other)
    assert gone.status_code == 403


def test_batch_answers_each_item(api: TestClient, auth: dict[str, str]) -> None:
    items = [make_item(1), make_item(2, category="无"), make_item(3)]
    answer = api.post("/v1/items:batch", json={"items": items}, headers=auth)
    assert answer.status_code == 200
    assert [a["status"] for a in answer.json()] == [202, 422, 202]


def test_openapi_documents_the_item(api: TestClient) -> None:
    doc = api.get("/openapi.json").json()
    assert {"/v1/items", "/v1/items:batch", "/v1/items/{source}/{item_id}"} <= set(doc["paths"])
    assert "approval" in doc["components"]["schemas"]["ItemIn"]["properties"]


def test_a_revoked_token_is_refused(api: TestClient, auth: dict[str, str], services: Services) -> None:
    assert api.post("/v1/items", json=make_item(1), headers=auth).status_code == 202
    assert services.store.revoke_source("test")
    assert api.post("/v1/items", json=make_item(2), headers=auth).status_code == 401
    assert (
        api.request("DELETE", "/v1/items/test/t-1", json={"reason": "撤回"}, headers=auth).status_code == 401
    )


def test_same_id_from_another_source_is_a_different_item(
    api: TestClient, auth: dict[str, str], services: Services
) -> None:
    assert api.post("/v1/items", json=make_item(1), headers=auth).status_code == 202
    other = {"authorization": f"Bearer {services.store.add_source('other')}"}
    changed = make_item(1, revision=2, title="篡改的标题")
    assert api.post("/v1/items", json=changed, headers=other).status_code == 202
    mine = api.get("/v1/items/test/t-1", headers=auth).json()["item"]
    assert (mine["revision"], mine["title"]) == (1, "测试公开信息 1")
