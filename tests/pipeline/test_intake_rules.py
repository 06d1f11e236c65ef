"""Rules of the intake that hold for every field and every setting: one text rule for
every string of every request body, the batch size the operator set, and 生成日期
never in the future (beyond a day's tolerance)."""

from __future__ import annotations

import json
import types
import typing
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from pipeline.app import create_app
from pipeline.schema import upgrade
from pipeline.services import Services, build_services
from pipeline.text import follows_rule
from tests.helpers import TEST_AGENCY, TEST_AGENCY_NAME, api_routes, make_item, register_agencies
from tests.pipeline.test_intake import stored


def unchecked_strings(annotation: Any, metadata: list[Any], where: str) -> list[str]:
    """Paths of strings under ``annotation`` that do not carry the text rule."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        inner, *more = typing.get_args(annotation)
        return unchecked_strings(inner, metadata + more, where)
    if annotation is str:
        return [] if follows_rule(metadata) else [where]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        found: list[str] = []
        for name, field in annotation.model_fields.items():
            found += unchecked_strings(
                field.annotation, list(field.metadata), f"{annotation.__name__}.{name}"
            )
        return found
    if origin in (list, tuple, set, frozenset, typing.Union, types.UnionType):
        return [p for arg in typing.get_args(annotation) for p in unchecked_strings(arg, [], f"{where}[]")]
    if origin is dict:
        key, value = typing.get_args(annotation)
        return unchecked_strings(key, [], f"{where}{{key}}") + unchecked_strings(value, [], f"{where}{{}}")
    return []


def request_models(api: TestClient) -> dict[str, Any]:
    """Every request body of the API, and the item model a batch's entries are read as."""
    from pipeline.model import ItemIn

    found: dict[str, Any] = {"batch entry": ItemIn}
    for path, route in api_routes(api.app):
        if route.include_in_schema:
            for param in route.dependant.body_params:
                found[f"{path} {param.name}"] = param.field_info.annotation
    return found


def test_every_string_of_every_request_body_follows_the_text_rule(api: TestClient) -> None:
    models = request_models(api)
    assert {"/v1/items item", "/v1/items:batch batch"} <= set(models)
    missing = [p for where, model in models.items() for p in unchecked_strings(model, [], where)]
    assert missing == []


def test_the_walker_sees_an_unchecked_field() -> None:
    class Nested(BaseModel):
        names: list[str]

    class Future(BaseModel):
        inner: Nested | None

    assert unchecked_strings(Future, [], "Future") == ["Nested.names[]"]


def with_approval(**changes: Any) -> dict[str, Any]:
    approval = make_item()["approval"]
    approval["checks"][0].update(changes.pop("check", {}))
    approval["approver"].update(changes.pop("approver", {}))
    approval.update(changes)
    return approval


CONTROL_IN_EVERY_FIELD = {
    "agency.name": {"agency": {"name": "张店区\x07教育局", "code": "113703030000000000"}},
    "keywords": {"keywords": ["招生", "考\x1b试"]},
    "reviewer": {"approval": with_approval(check={"reviewer": "法制\x00审核岗"})},
    "check note": {"approval": with_approval(check={"note": "已审\x08核"})},
    "approver name": {"approval": with_approval(approver={"name": "王\x7f某"})},
    "form_no": {"approval": with_approval(form_no="ZDJY\x0c-1")},
    "attachment name": {"attachments": [{"name": "附件\x01.pdf", "content_base64": "aGk="}]},
    "title": {"title": "标题\x00"},
    "summary": {"summary": "摘要\x85（C1）"},
    "body_html": {"body_html": "<p>正文\x0b</p>"},
    "doc_no": {"doc_no": "张教发\x1f〔2017〕3号"},
    "category": {"category": "政策法规\x00"},
    "lone surrogate": {"title": "标题\ud800"},
    "non-character": {"summary": "摘要\uffff"},
}


@pytest.mark.parametrize("field", sorted(CONTROL_IN_EVERY_FIELD))
def test_control_characters_are_refused_in_every_field(
    api: TestClient, auth: dict[str, str], services: Services, field: str
) -> None:
    item = make_item(1, **CONTROL_IN_EVERY_FIELD[field])
    headers = {**auth, "content-type": "application/json"}  # JSON escapes (\u0000, \ud800) on the wire
    answer = api.post("/v1/items", content=json.dumps(item), headers=headers)
    assert answer.status_code == 422, answer.text
    assert "is not allowed" in answer.text or "unicode" in answer.text  # pydantic's own, for surrogates
    batch = api.post("/v1/items:batch", content=json.dumps({"items": [item, make_item(2)]}), headers=headers)
    assert [a["status"] for a in batch.json()] == [422, 202]
    assert stored(services)[0] == 1


def test_tabs_and_line_breaks_are_text(api: TestClient, auth: dict[str, str]) -> None:
    item = make_item(1, summary="第一行\r\n第二行\t完", body_html="<p>一\n二</p>")
    assert api.post("/v1/items", json=item, headers=auth).status_code == 202


def test_a_retraction_reason_follows_the_text_rule(api: TestClient, auth: dict[str, str]) -> None:
    assert api.post("/v1/items", json=make_item(1), headers=auth).status_code == 202
    refused = api.request("DELETE", "/v1/items/test/t-1", json={"reason": "原因\x00"}, headers=auth)
    assert refused.status_code == 422
    assert api.get("/v1/items/test/t-1", headers=auth).json()["retracted_at"] is None


def test_batch_max_items_is_the_setting(settings_for: Any, auth_for: Any) -> None:
    services = build_services(settings_for(batch_max_items=3))
    upgrade(services.engine)
    register_agencies(services.engine, {TEST_AGENCY: TEST_AGENCY_NAME})
    register_agencies(services.engine, {TEST_AGENCY: TEST_AGENCY_NAME})
    with TestClient(create_app(services.settings, services)) as api:
        headers = auth_for(services)
        over = api.post("/v1/items:batch", json={"items": [make_item(n) for n in range(4)]}, headers=headers)
        assert over.status_code == 422 and "at most 3" in over.text
        assert stored(services) == (0, 0, 0)
        within = api.post(
            "/v1/items:batch", json={"items": [make_item(n) for n in range(3)]}, headers=headers
        )
        assert [a["status"] for a in within.json()] == [202] * 3


@pytest.fixture
def auth_for() -> Any:
    return lambda services: {"authorization": f"Bearer {services.store.add_source('test')}"}


def test_generated_on_may_lie_one_day_ahead_not_more(
    api: TestClient, auth: dict[str, str], services: Services
) -> None:
    today = services.clock().astimezone(ZoneInfo(services.settings.timezone)).date()
    tomorrow = make_item(1, generated_on=str(today + timedelta(days=1)))
    assert api.post("/v1/items", json=tomorrow, headers=auth).status_code == 202
    later = api.post(
        "/v1/items", json=make_item(2, generated_on=str(today + timedelta(days=2))), headers=auth
    )
    assert later.status_code == 422
    assert "generated_on" in later.text and "future" in later.text
    assert stored(services)[0] == 1
