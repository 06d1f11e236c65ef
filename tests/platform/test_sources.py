"""Sources bound to agencies, through a running platform (``govpub serve``, a Celery
worker, PostgreSQL, Redis): each source submits only for its agency and in its 索引号
series, reads and retracts only its own items of its agencies, and anything else is
answered as what does not exist."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from pipeline import bindings, db
from pipeline.agencies import Agency, add, retire
from tests.helpers import wait_until
from tests.platform.stack import GOV, PlatformStack

OWN_TAXONOMY = {"教育": ["招生考试"]}  # tenant a's own 主题分类: not the platform's


def stored_items(stack: PlatformStack) -> list[tuple[str, str, str]]:
    with stack.services.engine.connect() as conn:
        rows = conn.execute(select(db.items.c.source, db.items.c.item_id, db.items.c.agency_code)).all()
    return sorted((r.source, r.item_id, r.agency_code) for r in rows)


def errors(answers: list[dict[str, Any]]) -> list[tuple[int, str | None]]:
    return [(a["status"], (a["error"] or {}).get("error")) for a in answers]


def test_a_source_submits_only_for_its_agency_in_its_series(platform_for: Any) -> None:
    stack = platform_for(agencies={"113703030000000000": {"taxonomy": OWN_TAXONOMY}})
    a, b = stack.tenant("a"), stack.tenant("b")
    own = stack.item("a", 1, category="教育", subcategory="招生考试")
    answers = stack.submit(
        "a",
        own,
        stack.item("b", 1),  # b's agency: not bound
        stack.item("a", 2, agency={"code": "NOSUCH0001", "name": "无此单位"}),
        stack.item("a", 3, category="教育", subcategory="招生考试", index_no=f"{b.code}/2017-00001"),
        stack.item("a", 4),  # the platform's category 政策法规: not in a's own taxonomy
        stack.item("a", 5, category="教育", agency={"code": a.code, "name": "教育局（旧称）"}),
    )
    assert errors(answers) == [
        (202, None),
        (403, "agency_not_bound"),
        (422, "unknown_agency"),
        (422, "index_no_agency"),
        (422, "invalid_item"),
        (202, None),
    ], answers
    assert "category" in answers[4]["error"]["details"][0] and "教育" in answers[4]["error"]["details"][0]
    assert answers[0]["receipt"]["warnings"] == []
    assert answers[0]["receipt"]["index_no"].startswith(f"{a.code}/")
    (renamed,) = answers[5]["receipt"]["warnings"]
    assert "教育局（旧称）" in renamed and a.name in renamed
    # refused items wrote nothing; the accepted ones are a's, published under the registry's name
    assert stored_items(stack) == [("src-a", "a-1", a.code), ("src-a", "a-5", a.code)]
    published = stack.http.get("/v1/items/src-a/a-5", headers=a.auth).json()["item"]["agency"]
    assert published == {"code": a.code, "name": a.name}

    # b's taxonomy is the platform's; b submits for b
    assert errors(stack.submit("b", stack.item("b", 1))) == [(202, None)]
    single = stack.http.post("/v1/items", json=stack.item("b", 2), headers=a.auth)
    assert single.status_code == 403 and single.json()["error"] == "agency_not_bound"

    counts = stack.wait_settled()
    assert counts == {"memory": {"delivered": 3}}
    assert sorted(stack.received()) == sorted(
        ["src-a~a-1~r1~publish.json", "src-a~a-5~r1~publish.json", "src-b~b-1~r1~publish.json"]
    )

    # an agency the CLI registered, bound to src-b, then retired (merged into b, say)
    engine, now, old = stack.services.engine, datetime.now(UTC), "113703030000000055"
    add(engine, Agency(old, "原和平街道社区中心", parent=GOV, path="old"), now)
    bindings.change(engine, stack.services.registry, "src-b", add=[old])
    retire(engine, old, now)
    retired = stack.submit("b", stack.item("b", 3, agency={"code": old, "name": "原和平街道社区中心"}))
    assert errors(retired) == [(422, "agency_retired")]


def test_reads_and_retractions_stay_within_reach(platform_stack: PlatformStack) -> None:
    stack = platform_stack
    a, b = stack.tenant("a"), stack.tenant("b")
    assert errors(stack.submit("a", stack.item("a", 1))) == [(202, None)]
    assert errors(stack.submit("b", stack.item("b", 1), stack.item("b", 2))) == [(202, None)] * 2
    stack.wait_settled()

    def answer(method: str, path: str, token: dict[str, str]) -> tuple[int, dict[str, Any]]:
        body = {"reason": "发布有误"} if method == "DELETE" else None
        got = stack.http.request(method, path, headers=token, json=body)
        return got.status_code, got.json()

    for method in ("GET", "DELETE"):
        # another source's path: refused before any lookup, whatever exists there
        assert answer(method, "/v1/items/src-b/b-1", a.auth) == answer(method, "/v1/items/src-b/nope", a.auth)
        status, body = answer(method, "/v1/items/src-b/b-1", a.auth)
        assert status == 403 and "公开信息" not in str(body)
        # its own path: b's ids are ids it never used
        mine, never = (
            answer(method, "/v1/items/src-a/b-1", a.auth),
            answer(method, "/v1/items/src-a/nope", a.auth),
        )
        assert mine[0] == never[0] == 404 and mine[1]["error"] == never[1]["error"] == "not_found"

    status = stack.http.get("/v1/status", headers=a.auth).json()
    assert status == {"memory": {"delivered": 1}}  # a's delivery only
    assert stack.http.get("/v1/status", headers=b.auth).json() == {"memory": {"delivered": 2}}
    assert stack.http.get("/v1/status", headers={"authorization": "Bearer nope"}).status_code == 401

    # a source bound to both agencies, then unbound from b: b's items are out of its reach
    both = stack.services.store.add_source("src-both", [a.code, b.code])
    both_auth = {"authorization": f"Bearer {both}"}
    assert errors(stack.submit_as(both_auth, stack.item("a", 9), stack.item("b", 9))) == [(202, None)] * 2
    assert stack.http.get("/v1/items/src-both/b-9", headers=both_auth).status_code == 200
    bindings.change(stack.services.engine, stack.services.registry, "src-both", drop=[b.code])
    for method in ("GET", "DELETE"):
        gone = answer(method, "/v1/items/src-both/b-9", both_auth)
        assert gone == (404, {**gone[1], "message": "no item src-both/b-9"})
        assert gone[1]["error"] == answer(method, "/v1/items/src-both/never", both_auth)[1]["error"]
    assert stack.http.get("/v1/items/src-both/a-9", headers=both_auth).status_code == 200
    refused = stack.submit_as(both_auth, stack.item("b", 10))
    assert errors(refused) == [(403, "agency_not_bound")]
    # the retraction above never happened: b's items are as they were
    with stack.services.engine.connect() as conn:
        retracted = conn.execute(select(db.items.c.item_id).where(db.items.c.retracted_at.is_not(None))).all()
    assert retracted == []
    wait_until(lambda: stack.wait_settled(), 60, "settled")
