"""The CMS push adapter against the CMS sandbox, through the pipeline's runner."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from channels.website.sandbox import Cms
from channels.website.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature
from pipeline.channel import DeliveryContext
from pipeline.config import ChannelConfig, Settings
from pipeline.model import ItemIn
from pipeline.runner import run_delivery
from pipeline.services import Services
from tests.channels.website_helpers import SECRET, TOKEN, cms_options, running_cms, settled
from tests.helpers import make_item, wait_until

INDEX_NO = "113703030000000000/2017-00001"
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def sandbox() -> Iterator[tuple[str, Cms]]:
    with running_cms() as running:
        yield running


@pytest.fixture
def cms(sandbox: tuple[str, Cms]) -> Cms:
    return sandbox[1]


@pytest.fixture
def settings(settings_for: Any, db_url: str, sandbox: tuple[str, Cms]) -> Settings:
    options = cms_options(sandbox[0], read_timeout=0.5, connect_timeout=1.0)
    built: Settings = settings_for(
        database_url=db_url, channels={"website": ChannelConfig(kind="website", options=options)}
    )
    return built


def control(sandbox: tuple[str, Cms], **plan: Any) -> None:
    base = sandbox[0].removesuffix("/documents")
    httpx.post(f"{base}/control", json=plan).raise_for_status()


def outcomes(services: Services, delivery_id: int) -> list[str]:
    return [e["outcome"] for e in services.store.events(delivery_id)]


def test_a_signed_document_is_pushed_and_its_page_url_kept(
    api: TestClient, auth: dict[str, str], cms: Cms, sandbox: tuple[str, Cms]
) -> None:
    item = make_item(1, doc_no="张教发〔2017〕1号", keywords=["招生"])
    assert api.post("/v1/items", json=item, headers=auth).status_code == 202
    status = settled(api, auth, "t-1")
    stored = cms.documents[INDEX_NO]
    assert stored["versions"] == 1 and stored["revision"] == "1"
    assert stored["document"]["title"] == "测试公开信息 1"
    assert stored["document"]["publisher"] == "张店区教育局"
    assert stored["document"]["doc_no"] == "张教发〔2017〕1号"
    assert stored["document"]["body_html"].startswith("<p>")
    [delivery] = status["deliveries"]
    page = delivery["links"]["url"]
    assert page.endswith(f"/pages/{INDEX_NO}.html")
    assert httpx.get(page).text.count("测试公开信息 1") == 2

    # the sandbox really checks: no token, a wrong secret, a replayed signature
    url = f"{sandbox[0]}/{INDEX_NO}"
    body = json.dumps({"title": "伪造"}).encode()
    stamp = str(int(time.time()))
    good = signature(SECRET, stamp, "PUT", f"/documents/{INDEX_NO}", body)
    auth_header = {"authorization": f"Bearer {TOKEN}", TIMESTAMP_HEADER: stamp}
    for headers, reason in [
        ({TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: good}, "bearer token"),
        ({**auth_header, SIGNATURE_HEADER: signature("wrong", stamp, "PUT", f"/documents/{INDEX_NO}", body)},
         "signature does not match"),
        ({**auth_header, SIGNATURE_HEADER: signature(SECRET, stamp, "DELETE", f"/documents/{INDEX_NO}", b"")},
         "signature does not match"),
    ]:  # fmt: skip
        answer = httpx.put(url, content=body, headers=headers)
        assert answer.status_code == 401 and reason in answer.json()["message"]
    assert cms.documents[INDEX_NO]["document"]["title"] == "测试公开信息 1"


def test_5xx_and_timeouts_are_retried_until_delivered(
    api: TestClient, auth: dict[str, str], cms: Cms, sandbox: tuple[str, Cms], services: Services
) -> None:
    control(sandbox, fail=2, fail_status=503, slow=1, slow_seconds=1.5)
    assert api.post("/v1/items", json=make_item(1), headers=auth).status_code == 202
    [delivery] = settled(api, auth, "t-1")["deliveries"]
    assert outcomes(services, delivery["id"]) == ["retry", "retry", "retry", "delivered"]
    events = services.store.events(delivery["id"])
    assert "503" in events[0]["message"] and "timed out" in events[2]["message"]
    # the slow attempt stored the document before the adapter gave up: still one document
    assert list(cms.documents) == [INDEX_NO] and cms.documents[INDEX_NO]["versions"] == 2


@SQLITE_ONLY
def test_a_4xx_is_permanent_with_the_cms_message(
    api: TestClient, auth: dict[str, str], sandbox: tuple[str, Cms], cms: Cms, services: Services
) -> None:
    control(sandbox, reject=1, reject_status=422, reject_message="文号格式不符合本站要求")

    def dead() -> Any:
        body = api.get("/v1/items/test/t-1", headers=auth).json()
        return body["deliveries"][0] if body["deliveries"][0]["state"] == "dead" else None

    assert api.post("/v1/items", json=make_item(1), headers=auth).status_code == 202
    delivery = wait_until(dead, what="a dead delivery")
    assert "文号格式不符合本站要求" in delivery["last_error"] and "422" in delivery["last_error"]
    assert delivery["last_error_class"] == "PermanentError" and delivery["attempts"] == 1
    assert cms.documents == {}


@SQLITE_ONLY
def test_retraction_deletes_the_document(api: TestClient, auth: dict[str, str], cms: Cms) -> None:
    assert api.post("/v1/items", json=make_item(1), headers=auth).status_code == 202
    settled(api, auth, "t-1")
    gone = api.request("DELETE", "/v1/items/test/t-1", json={"reason": "信息有误"}, headers=auth)
    assert gone.status_code == 202
    settled(api, auth, "t-1", action="retract")
    assert cms.documents == {}
    assert cms.withdrawn[INDEX_NO]["reason"] == "信息有误"


@SQLITE_ONLY
def test_a_redelivered_task_does_not_duplicate_the_document(
    services: Services, cms: Cms, sandbox: tuple[str, Cms]
) -> None:
    raw = make_item(1, source="test")
    accepted = services.store.accept(ItemIn.model_validate(raw), {"website": True})
    [(delivery_id, channel)] = accepted.work
    # a worker claims it, pushes the document, and dies before recording the outcome
    claim = services.deliveries.claim(delivery_id, "dying-worker", services.clock(), lease_seconds=-1)
    assert claim is not None
    ctx = DeliveryContext(claim.id, claim.attempts, channel, services.clock(), load_blob=services.store.blob)
    services.channel(channel).publish(claim.item, ctx)
    # the broker redelivers the task; its lease has run out, so another worker takes over
    assert run_delivery(services, delivery_id, channel) == "delivered"
    assert list(cms.documents) == [INDEX_NO] and cms.documents[INDEX_NO]["versions"] == 2
    assert outcomes(services, delivery_id) == ["lost", "delivered"]
    record = httpx.get(sandbox[0].replace("/documents", "/record")).json()
    assert record == {
        "documents": {INDEX_NO: {"title": raw["title"], "versions": 2, "revision": "1"}},
        "withdrawn": {},
    }, "the sandbox's own record, as a chaos run reads it"


def test_every_request_takes_the_planned_latency(sandbox: tuple[str, Cms], services: Services) -> None:
    control(sandbox, latency_seconds=0.3)
    [(delivery_id, channel)] = services.store.accept(
        ItemIn.model_validate(make_item(1, source="test")), {"website": True}
    ).work
    started = time.monotonic()
    assert run_delivery(services, delivery_id, channel) == "delivered"
    assert time.monotonic() - started >= 0.3
