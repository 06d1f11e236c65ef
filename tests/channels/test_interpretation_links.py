"""政策解读 on the channels: the website pages of a policy and its interpretation link each
other (相关解读 / 解读的政策), the feed and WeChat carry a 解读的政策 line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from channels.wechat.content import interprets_block
from pipeline import db
from pipeline.config import ChannelConfig
from pipeline.model import ItemIn, Published
from pipeline.runner import run_delivery
from pipeline.schema import upgrade
from pipeline.services import Services, build_services
from tests.helpers import TEST_AGENCY, TEST_AGENCY_NAME, make_item, register_agencies


def setup(settings_for: Any) -> Services:
    channels = {
        "website": ChannelConfig(kind="website"),
        "feed": ChannelConfig(kind="feed", options={"full_text": True}),
    }
    services = build_services(settings_for(channels=channels))
    upgrade(services.engine)
    register_agencies(services.engine, {TEST_AGENCY: TEST_AGENCY_NAME})
    services.store.add_source("test", [TEST_AGENCY])
    return services


def accept(services: Services, n: int, **changes: Any) -> tuple[str, dict[str, int]]:
    item = ItemIn.model_validate({**make_item(n, **changes), "source": "test"})
    accepted = services.store.accept(item, {"website": True, "feed": True})
    return accepted.index_no, {channel: delivery for delivery, channel in accepted.work}


def page(services: Services, index_no: str) -> str:
    folder = services.channel("website").files_dir
    assert folder is not None
    return (folder / TEST_AGENCY.lower() / "items" / f"{index_no.replace('/', '-')}.html").read_text("utf-8")


def url(index_no: str) -> str:
    return f"/{TEST_AGENCY.lower()}/items/{index_no.replace('/', '-')}.html"


def test_the_pages_of_a_policy_and_its_interpretation_link_each_other(
    settings_for: Any, tmp_path: Path
) -> None:
    services = setup(settings_for)
    policy_no, policy = accept(services, 1, title="关于规范校外培训的若干规定", genre="规范性文件")
    reading_no, reading = accept(services, 2, title="《若干规定》政策解读", interprets=[{"id": "t-1"}])
    # its own claim takes nothing (a task is a wake-up for the channel: pipeline.runner)
    assert services.deliveries.claim(reading["website"], "w", services.clock(), 30) is None
    assert run_delivery(services, policy["website"], "website") == "delivered"
    assert "相关解读" not in page(services, policy_no)
    assert run_delivery(services, reading["website"], "website") == "delivered"
    interpretation = page(services, reading_no)
    assert "解读的政策" in interpretation and url(policy_no) in interpretation
    assert "关于规范校外培训的若干规定" in interpretation
    listed = page(services, policy_no)
    assert "相关解读" in listed and url(reading_no) in listed and "《若干规定》政策解读" in listed

    # the feed's entry of the interpretation names and links its policy
    assert run_delivery(services, policy["feed"], "feed") == "delivered"
    assert run_delivery(services, reading["feed"], "feed") == "delivered"
    with services.engine.connect() as conn:
        document = conn.execute(
            select(db.revisions.c.document).join(db.items).where(db.items.c.item_id == "t-2")
        ).scalar_one()
    feeds = [p.read_text("utf-8") for p in (tmp_path / "data").rglob("*.rss")]
    assert any("解读的政策" in f and url(policy_no) in f for f in feeds), feeds[:1]

    # a new revision of the policy keeps the list; a retraction of the interpretation drops it
    revised = ItemIn.model_validate(
        {**make_item(1, title="关于规范校外培训的若干规定（修订）", revision=2), "source": "test"}
    )
    ((delivery, _),) = [w for w in services.store.accept(revised, {"website": True, "feed": False}).work]
    assert run_delivery(services, delivery, "website") == "delivered"
    assert url(reading_no) in page(services, policy_no) and "（修订）" in page(services, policy_no)
    for delivery, channel in services.store.retract("test", "t-2", "解读有误"):
        if channel == "website":
            assert run_delivery(services, delivery, channel) == "delivered"
    assert url(reading_no) not in page(services, policy_no)
    assert "相关解读" not in page(services, policy_no)

    # WeChat's article: the same line at its head
    line = interprets_block(Published.model_validate(document), lambda no: f"https://x.test{url(no)}")
    assert line.startswith("<p>解读的政策：<a href=") and url(policy_no) in line


def test_an_item_interpreting_nothing_gets_no_line() -> None:
    item = Published.model_validate(
        {**make_item(1), "source": "test", "index_no": "X/2026-00001", "accepted_at": "2026-01-01T00:00:00Z"}
    )
    assert interprets_block(item, None) == ""
