"""Example items for channel tests: complete, approved, stored by the real store.

A channel receives a :class:`~pipeline.model.Published` that went through the intake's
checks and the store (索引号 assigned, body sanitised, blobs stored); building one by
hand would test the channel against items the pipeline never hands it.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from pipeline.model import ItemIn, Published
from pipeline.services import Services

APPROVED = {
    "form_no": "TEST-SP-2026-0001",
    "checks": [
        {"kind": kind, "reviewer": reviewer, "at": "2026-03-02T09:00:00+08:00", "result": "pass"}
        for kind, reviewer in (
            ("confidentiality", "保密审查岗"),
            ("legality", "法制审核岗"),
            ("authenticity", "承办科室负责人"),
        )
    ],
    "approver": {"role": "分管领导", "at": "2026-03-02T10:00:00+08:00"},
}

EXAMPLE: dict[str, Any] = {
    "revision": 1,
    "title": "测试公开信息",
    "agency": {"name": "张店区教育局", "code": "113703030000000000"},
    "generated_on": "2026-03-02",
    "category": "政策法规",
    "subcategory": "招生考试",
    "genre": "通知",
    "validity": "有效",
    "summary": "测试用的公开信息。",
    "body_html": "<p>测试用的公开信息正文。</p>",
    "attachments": [],
    "approval": APPROVED,
}


def register_example_agency(services: Services, code: str | None = None, name: str | None = None) -> None:
    """The agency of the example items (or ``code``) in the registry, as the intake
    requires of every item's agency; nothing when it is there already."""
    from pipeline.agencies import Agency, add

    code, name = code or EXAMPLE["agency"]["code"], name or EXAMPLE["agency"]["name"]
    if services.registry.get(code) is None:
        add(services.engine, Agency(code, name), services.clock())
        services.registry.forget()


def example_item(n: int | str = 1, **changes: Any) -> dict[str, Any]:
    """A complete, approved item as a source submits it (id ``t-{n}``); ``changes``
    replace top-level fields."""
    item = copy.deepcopy(EXAMPLE)
    item.update(id=f"t-{n}", title=f"测试公开信息 {n}")
    item.update(changes)
    return item


def accept_item(
    services: Services,
    n: int | str,
    *,
    wanted: dict[str, bool] | None = None,
    source: str = "contract",
    now: datetime | None = None,
    **changes: Any,
) -> Published:
    """Item ``n`` stored as source ``source`` (delivery rows for the channels ``wanted``
    names) at ``now`` (default: the real time), read back as a channel receives it."""
    raw = example_item(n, **changes)
    register_example_agency(services, raw["agency"]["code"], raw["agency"]["name"])
    services.store.accept(ItemIn.model_validate({**raw, "source": source}), wanted or {}, now=now)
    return Published.model_validate(services.store.item_status(source, raw["id"])["item"])
