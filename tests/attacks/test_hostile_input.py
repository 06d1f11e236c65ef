"""Bad input against the intake: generated from the OpenAPI document and by hand.

No answer is a 5xx, every answer is documented, and nothing refused is stored.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from pipeline.services import Services
from tests.helpers import make_item
from tests.pipeline.test_intake import stored


def test_generated_requests_get_documented_answers(api: TestClient, token: str) -> None:
    """schemathesis over every operation: no 5xx, status codes and bodies as documented.
    (Driven through hypothesis directly: schemathesis' pytest plugin does not load on pytest 9.)"""
    # Schema-valid items may still be refused: approval completeness and the agency's
    # taxonomy are rules of the domain, not of JSON Schema.
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    headers = {"authorization": f"Bearer {token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        check()


def post(api: TestClient, auth: dict[str, str], body: bytes, content_type: str = "application/json") -> Any:
    return api.post("/v1/items", content=body, headers={**auth, "content-type": content_type})


HOSTILE_BODIES = {
    "deep JSON": b"[" * 100_000 + b"]" * 100_000,
    "deep object": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "not UTF-8": json.dumps(make_item()).encode()[:-20] + b'"\xff\xfe\xfa"}',
    "empty": b"",
    "JSON null": b"null",
    "a list": b"[1,2,3]",
    "NaN": b'{"revision": NaN}',
}


@pytest.mark.parametrize("name", sorted(HOSTILE_BODIES))
def test_hostile_bodies_are_refused_cleanly(
    api: TestClient, auth: dict[str, str], services: Services, name: str
) -> None:
    answer = post(api, auth, HOSTILE_BODIES[name])
    assert 400 <= answer.status_code < 500, (name, answer.status_code, answer.text[:300])
    assert answer.json()["error"]
    assert stored(services) == (0, 0, 0)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_wrong_content_types_are_refused(
    api: TestClient, auth: dict[str, str], services: Services, content_type: str
) -> None:
    answer = post(api, auth, json.dumps(make_item()).encode(), content_type)
    assert 400 <= answer.status_code < 500
    assert stored(services) == (0, 0, 0)


@pytest.mark.parametrize(
    "changes",
    [
        {"attachments": [{"name": "x" * 10_000, "content_base64": "aGk="}]},
        {"attachments": [{"name": "a.pdf", "content_base64": "not base64!"}]},
        {"generated_on": "0001-01-01"},
        {"generated_on": "9999-12-31"},
        {"revision": 0},
        {"revision": 10**30},
        {"title": ""},
        {"title": "标题\x00\x07"},
        {"title": "x" * 10_000},
        {"index_no": "../../etc/passwd"},
        {"id": "../../x"},
        {"channels": ["website", {"x": 1}]},
        {
            "approval": {
                "form_no": "F",
                "checks": [],
                "approver": {"role": "分管领导", "at": "3000-01-01T00:00:00+08:00"},
            }
        },
    ],
    ids=lambda c: next(iter(c)) + ":" + str(next(iter(c.values())))[:20],
)
def test_out_of_range_fields_are_refused(
    api: TestClient, auth: dict[str, str], services: Services, changes: dict[str, Any]
) -> None:
    answer = api.post("/v1/items", json=make_item(**changes), headers=auth)
    assert answer.status_code == 422, answer.text[:300]
    assert stored(services) == (0, 0, 0)


def test_script_in_every_text_field_is_stored_inert(
    api: TestClient, auth: dict[str, str], services: Services
) -> None:
    script = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    item = make_item(
        1,
        title=script,
        summary=script,
        doc_no=script[:60],
        genre=script[:60],
        keywords=[script[:60]],
        body_html=f"<p>正文</p>{script}<a href='javascript:alert(3)'>链接</a>",
    )
    assert api.post("/v1/items", json=item, headers=auth).status_code == 202
    document = api.get("/v1/items/test/t-1", headers=auth).json()["item"]
    body = document["body_html"]
    assert "<script" not in body and "onerror" not in body and "javascript:" not in body
    assert "正文" in body
    assert document["title"] == script  # text is kept as text; channels escape it
