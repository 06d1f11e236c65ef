"""Item fields a channel kind declares (ChannelPlugin.item_fields): validated at the top
of the item as core fields are, handed to channels in ``Published.fields``, and hashed
so that stored revisions keep their ``body_hash``."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from pipeline import db, registry
from pipeline.model import ItemIn, Published, ShortText
from pipeline.plugin import ItemField
from pipeline.services import Services


def passed(kind: str, reviewer: str, at: str) -> dict[str, str]:
    return {"kind": kind, "reviewer": reviewer, "at": f"2017-04-10T{at}:00+08:00", "result": "pass"}


# The document of tests.helpers.make_item(1) as it was when this test was written, and
# the body_hash the core computed for it before wechat_title left pipeline/model.py
# (ItemIn.model_dump hashed at 8326539, with the source the token sets).
DOCUMENT: dict[str, Any] = {
    "id": "t-1",
    "revision": 1,
    "title": "测试公开信息 1",
    "agency": {"name": "张店区教育局", "code": "113703030000000000"},
    "generated_on": "2017-04-10",
    "doc_no": None,
    "category": "政策法规",
    "subcategory": "招生考试",
    "genre": "方案",
    "validity": "有效",
    "summary": "2017年张店地区部分普通高中学校招生指标分配实施方案全文公开。",
    "body_html": "<p>2017年张店地区部分普通高中学校招生指标分配实施方案。</p><p>具体内容详见附件。</p>",
    "attachments": [],
    "channels": None,
    "approval": {
        "form_no": "ZDJY-SP-2017-0001",
        "checks": [
            passed("confidentiality", "局办公室保密审查岗", "09:10"),
            passed("legality", "法制审核岗", "09:40"),
            passed("authenticity", "承办科室负责人", "10:05"),
        ],
        "approver": {"role": "分管领导", "at": "2017-04-10T11:00:00+08:00"},
    },
}  # fmt: skip
OLD_HASH = "3582a468720fb124d11b40170bbf8f197086340c5eba301f11499f940d55edf3"
OLD_HASH_WITH_TITLE = (
    "ff79cda4dbc3b41bf13ba15b32a7af8259b596fb63d31665a86e94841d473138"  # wechat_title 短标题
)


def others() -> list[str]:
    """The installed kinds other than WeChat that declare item fields (weibo_text …): left
    out where a test names the installed fields."""
    return [kind for kind, p in registry.plugins().items() if p.item_fields and kind != "wechat"]


def document(**changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(DOCUMENT), **changes}


def body_hashes(services: Services) -> list[str]:
    with services.engine.connect() as conn:
        return list(conn.execute(select(db.revisions.c.body_hash).order_by(db.revisions.c.pk)).scalars())


def stored_document(services: Services) -> dict[str, Any]:
    with services.engine.connect() as conn:
        found: dict[str, Any] = conn.execute(select(db.revisions.c.document)).scalar_one()
        return found


@pytest.mark.parametrize(
    ("changes", "old_hash"), [({}, OLD_HASH), ({"wechat_title": "短标题"}, OLD_HASH_WITH_TITLE)]
)
def test_a_revision_hashed_the_old_way_stays_idempotent(
    api: TestClient, auth: dict[str, str], services: Services, changes: dict[str, Any], old_hash: str
) -> None:
    assert api.post("/v1/items", json=document(**changes), headers=auth).status_code == 202
    assert body_hashes(services) == [old_hash]
    # a database written before: its stored hash is the old one whatever this code computes
    with services.engine.begin() as conn:
        conn.execute(update(db.revisions).values(body_hash=old_hash))
    again = api.post("/v1/items", json=document(**changes), headers=auth)
    assert again.status_code == 200, again.text
    assert api.post("/v1/items", json=document(**changes, summary="改了"), headers=auth).status_code == 409


def test_a_kind_installed_later_changes_no_stored_hash(
    api: TestClient, auth: dict[str, str], services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    declared = {**registry.item_fields(), "board_text": ItemField(ShortText, "the notice board's text")}
    monkeypatch.setattr(registry, "item_fields", lambda: declared)
    assert api.post("/v1/items", json=document(), headers=auth).status_code == 202
    assert body_hashes(services) == [OLD_HASH]
    with_text = api.post("/v1/items", json=document(revision=2, board_text="张贴"), headers=auth)
    assert with_text.status_code == 202, with_text.text
    assert body_hashes(services)[1] != OLD_HASH


def test_a_channel_field_reaches_the_channels_in_fields(
    api: TestClient, auth: dict[str, str], services: Services
) -> None:
    with registry.without(others()):
        assert api.post("/v1/items", json=document(wechat_title=" 短标题 "), headers=auth).status_code == 202
    stored = stored_document(services)
    assert stored["wechat_title"] == "短标题"  # top level, stripped, as before
    published = Published.model_validate(stored)
    assert published.fields == {"wechat_title": "短标题"}
    assert "wechat_title" not in Published.model_fields


def test_a_channel_field_is_validated_as_a_core_field(api: TestClient, auth: dict[str, str]) -> None:
    answer = api.post("/v1/items", json=document(wechat_title="题" * 65, doc_no="号" * 65), headers=auth)
    assert answer.status_code == 422
    too_long = "Value should have at most 64 items after validation, not 65"  # the words of before
    assert answer.json()["details"] == [f"doc_no: {too_long}", f"wechat_title: {too_long}"]
    batch = api.post("/v1/items:batch", json={"items": [document(wechat_title="题" * 65)]}, headers=auth)
    assert batch.json()[0]["error"]["details"] == [f"wechat_title: {too_long}"]


def test_an_unknown_field_is_refused_naming_the_installed_fields(
    api: TestClient, auth: dict[str, str]
) -> None:
    with registry.without(others()):
        answer = api.post("/v1/items", json=document(telegraph_text="电报正文"), headers=auth)
    assert answer.status_code == 422
    assert answer.json()["details"] == [
        "telegraph_text: Extra inputs are not permitted (fields the installed channels add: wechat_title)"
    ]


def test_the_field_of_a_kind_not_installed_is_an_unknown_field(api: TestClient, auth: dict[str, str]) -> None:
    with registry.without(["wechat", *others()]):
        answer = api.post("/v1/items", json=document(wechat_title="短标题"), headers=auth)
        assert answer.status_code == 422
        assert answer.json()["details"] == [
            "wechat_title: Extra inputs are not permitted (fields the installed channels add: none)"
        ]
        assert api.post("/v1/items", json=document(), headers=auth).status_code == 202


def test_a_stored_revision_keeps_the_field_of_a_kind_removed_since(services: Services) -> None:
    with registry.without(others()):
        accepted = ItemIn.model_validate(document(source="test", wechat_title="短标题"))
        services.store.accept(accepted, {})
    with registry.without(["wechat", *others()]):
        assert Published.model_validate(stored_document(services)).fields == {"wechat_title": "短标题"}


def test_the_api_description_lists_the_installed_fields(api: TestClient) -> None:
    schema = api.get("/openapi.json").json()["components"]["schemas"]["ItemIn"]
    properties = schema["properties"]
    assert properties["wechat_title"]["anyOf"] == properties["doc_no"]["anyOf"]  # ShortText | None
    assert schema["additionalProperties"] is False


def test_two_kinds_may_not_declare_one_field(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.errors import ConfigError
    from pipeline.plugin import ChannelPlugin, ReportRole

    wechat = registry.plugins()["wechat"]
    twin = ChannelPlugin(
        "twin", "孪生", ReportRole.OTHER, wechat.channel, item_fields=dict(wechat.item_fields)
    )
    declared = {"twin": twin, "wechat": wechat}
    monkeypatch.setattr(registry, "_entry_points", lambda: dict.fromkeys(declared))
    monkeypatch.setattr(registry, "_load", declared.__getitem__)
    registry._kept.cache_clear()
    registry._item_fields.cache_clear()
    try:
        with pytest.raises(ConfigError, match="wechat_title"):
            registry.item_fields()
    finally:
        monkeypatch.undo()
        registry.refresh()
