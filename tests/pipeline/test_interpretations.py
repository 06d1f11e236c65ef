"""政策解读: references checked at intake, kept per revision, and the claim rule that
keeps an interpretation off every channel until its policy is out there."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from pipeline import db
from pipeline.config import ChannelConfig
from pipeline.model import ItemIn, content_hash
from pipeline.runner import run_delivery
from pipeline.schema import upgrade
from pipeline.services import Services, build_services
from tests.helpers import TEST_AGENCY, TEST_AGENCY_NAME, make_item, register_agencies

OTHER = "999999000"
TWO = {"a": ChannelConfig(kind="memory"), "b": ChannelConfig(kind="memory")}


class Recorder:
    """Collects what the runner makes due (the dispatcher a worker sends woken rows to)."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []

    def send(self, work: list[tuple[int, str]]) -> None:
        self.sent += work

    def depth(self, channel: str) -> int | None:
        return None


def setup(settings_for: Any) -> Services:
    services = build_services(settings_for(channels=TWO))
    upgrade(services.engine)
    register_agencies(services.engine, {TEST_AGENCY: TEST_AGENCY_NAME, OTHER: "另一机关"})
    services.store.add_source("test", [TEST_AGENCY])  # what it interprets is within its reach
    services.dispatcher = Recorder()
    return services


def accept(
    services: Services, n: int | str, channels: dict[str, bool] | None = None, **changes: Any
) -> dict[str, int]:
    """The item stored; its deliveries {channel: id}."""
    item = ItemIn.model_validate({**make_item(n, **changes), "source": "test"})
    accepted = services.store.accept(item, channels or {"a": True, "b": True})
    with services.engine.connect() as conn:
        rows = conn.execute(
            select(db.deliveries.c.channel, db.deliveries.c.id).where(
                db.deliveries.c.item_pk == accepted.item_pk, db.deliveries.c.revision == item.revision
            )
        ).all()
    return {row.channel: row.id for row in rows}


def row(services: Services, delivery_id: int) -> Any:
    with services.engine.connect() as conn:
        return conn.execute(select(db.deliveries).where(db.deliveries.c.id == delivery_id)).one()


def not_claimed(services: Services, delivery_id: int) -> bool:
    """The delivery's own claim takes nothing (a task would go on to other due deliveries
    of the channel: it is a wake-up, pipeline.runner)."""
    return services.deliveries.claim(delivery_id, "w", services.clock(), 30) is None


def interpreting(n: int | str) -> list[dict[str, str]]:
    return [{"id": f"t-{n}"}]


def test_an_interpretation_waits_for_its_policy_and_is_woken_when_it_is_out(settings_for: Any) -> None:
    services = setup(settings_for)
    policy = accept(services, 1, genre="规范性文件")
    reading = accept(services, 2, interprets=interpreting(1))
    assert not_claimed(services, reading["a"])
    waiting = row(services, reading["a"])
    assert waiting.state == "waiting" and "等待所解读的政策发布" in waiting.reason
    assert waiting.next_attempt_at > services.clock() + timedelta(seconds=30)  # no churn: woken instead
    assert run_delivery(services, policy["a"], "a") == "delivered"
    assert services.dispatcher.sent == [(reading["a"], "a")]  # type: ignore[union-attr]
    assert run_delivery(services, reading["a"], "a") == "delivered"
    # the policy is not out on b yet: its interpretation waits there
    assert not_claimed(services, reading["b"])
    assert run_delivery(services, policy["b"], "b") == "delivered"
    assert run_delivery(services, reading["b"], "b") == "delivered"


def test_a_channel_the_policy_does_not_go_to_waits_for_it_to_be_out_anywhere(settings_for: Any) -> None:
    services = setup(settings_for)
    policy = accept(services, 1, channels={"a": True, "b": False})
    reading = accept(services, 2, interprets=interpreting(1))
    assert run_delivery(services, reading["b"], "b") == "not-claimed"
    assert run_delivery(services, policy["a"], "a") == "delivered"
    assert run_delivery(services, reading["b"], "b") == "delivered"


def test_a_retracted_policy_keeps_its_interpretation_waiting(settings_for: Any) -> None:
    services = setup(settings_for)
    policy = accept(services, 1)
    reading = accept(services, 2, interprets=interpreting(1))
    assert run_delivery(services, policy["a"], "a") == "delivered"
    services.store.retract("test", "t-1", "撤回测试")
    assert not_claimed(services, reading["a"])
    assert "等待所解读的政策发布" in row(services, reading["a"]).reason


def test_a_new_revision_may_name_other_policies(settings_for: Any) -> None:
    services = setup(settings_for)
    accept(services, 1)
    second = accept(services, 3)
    accept(services, 2, interprets=interpreting(1))
    revised = accept(services, 2, revision=2, interprets=interpreting(3))
    assert run_delivery(services, second["a"], "a") == "delivered"
    assert run_delivery(services, revised["a"], "a") == "delivered"  # policy 1 is no longer named


def test_an_item_without_interprets_hashes_as_before() -> None:
    item = ItemIn.model_validate({**make_item(1), "source": "test"})
    assert "interprets" not in item.hashed_document()
    named = item.model_copy(
        update={
            "interprets": ItemIn.model_validate(
                {**make_item(1, interprets=interpreting(9)), "source": "test"}
            ).interprets
        }
    )
    assert content_hash(named.hashed_document()) != content_hash(item.hashed_document())


def post(api: TestClient, auth: dict[str, str], n: int | str, **changes: Any) -> Any:
    return api.post("/v1/items", json=make_item(n, **changes), headers=auth)


def test_intake_refuses_what_cannot_be_interpreted_alike(
    api: TestClient, auth: dict[str, str], services: Services
) -> None:
    register_agencies(services.engine, {OTHER: "另一机关"})
    elsewhere = services.store.add_source("elsewhere", [OTHER])
    other_item = make_item("x", agency={"code": OTHER, "name": "另一机关"})
    assert (
        api.post("/v1/items", json=other_item, headers={"authorization": f"Bearer {elsewhere}"}).status_code
        == 202
    )
    unknown = post(api, auth, 2, interprets=[{"source": "elsewhere", "id": "t-nothing"}])
    out_of_reach = post(api, auth, 2, interprets=[{"source": "elsewhere", "id": "t-x"}])
    assert unknown.status_code == out_of_reach.status_code == 422
    assert unknown.json()["error"] == out_of_reach.json()["error"] == "interprets_unknown"
    said = [a.json()["details"][0].replace("t-nothing", "t-x") for a in (unknown, out_of_reach)]
    assert said[0] == said[1]  # no word tells a missing item from another agency's
    itself = post(api, auth, 2, interprets=[{"id": "t-2"}])
    assert itself.status_code == 422 and "itself" in itself.json()["details"][0]
    assert post(api, auth, 1).status_code == 202
    accepted = post(api, auth, 2, interprets=[{"id": "t-1"}])
    assert accepted.status_code == 202, accepted.text
    document = api.get("/v1/items/test/t-2", headers=auth).json()["item"]
    assert document["interprets"] == [
        {
            "source": "test",
            "id": "t-1",
            "index_no": post(api, auth, 1).json()["index_no"],
            "title": "测试公开信息 1",
        }
    ]
    again = post(api, auth, 2, interprets=[{"source": "test", "id": "t-1"}])  # the same, spelt out
    assert again.status_code == 200 and again.json()["status"] == "existing"


def test_a_policy_earlier_in_the_same_batch_is_found(api: TestClient, auth: dict[str, str]) -> None:
    batch = [make_item(2, interprets=interpreting(1)), make_item(1)]
    answers = api.post("/v1/items:batch", json={"items": batch}, headers=auth).json()
    assert [a["status"] for a in answers] == [202, 202], answers
