"""Job results in one shape, whether a callback event or a poll brought them.

wechatpy 1.8.18 parses ``PUBLISHJOBFINISH`` as an unknown message: the event class is
registered here (importing this module is enough). ``MASSSENDJOBFINISH`` is wechatpy's
own class; its ``ArticleUrlResult`` is read from the raw data.
"""

from __future__ import annotations

from typing import Any

from wechatpy.events import BaseEvent, register_event
from wechatpy.fields import BaseField, IntegerField

SEND_SUCCESS, SENDING = "SEND_SUCCESS", "SENDING"


@register_event("publishjobfinish")
class PublishJobFinishEvent(BaseEvent):
    """发布完成事件: ``PublishEventInfo`` with the ``publish_id`` and its result."""

    event = "publishjobfinish"
    info = BaseField("PublishEventInfo", {})
    create_time = IntegerField("CreateTime", 0)


def _listed(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


def publish_result(info: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """(publish_status, {article_id, article_urls, fail_idx}) from ``freepublish/get``
    JSON or a ``PublishEventInfo`` element (xmltodict gives one item as a dict)."""
    status = int(info.get("publish_status", 3))
    detail = info.get("article_detail") or {}
    items = sorted(_listed(detail.get("item")), key=lambda it: int(it.get("idx", 0)))
    fail = info.get("fail_idx")
    fail_list = fail.get("item") if isinstance(fail, dict) else fail  # XML wraps repeated values
    return status, {
        "article_id": info.get("article_id") or "",
        "article_urls": [str(it.get("article_url", "")) for it in items],
        "fail_idx": [int(i) for i in _listed(fail_list)],
    }


def mass_status(raw: str) -> str:
    """``message/mass/get``'s ``msg_status`` from an event's ``Status`` (``send success``,
    ``send fail``, ``err(…)``)."""
    text = raw.strip().upper().replace(" ", "_")
    if text in ("SEND_SUCCESS", "SENDSUCCESS"):
        return SEND_SUCCESS
    if text in (SENDING, "DELETE"):
        return text
    return f"SEND_FAIL:{raw.strip()}" if text not in ("SEND_FAIL", "SENDFAIL") else "SEND_FAIL"


def mass_event_result(data: dict[str, Any]) -> dict[str, Any]:
    """What a ``MASSSENDJOBFINISH`` event says beyond its status (URLs may be empty)."""
    result = data.get("ArticleUrlResult") or {}
    items = _listed((result.get("ResultList") or {}).get("item"))
    urls = [
        str(it.get("ArticleUrl", "")) for it in sorted(items, key=lambda it: int(it.get("ArticleIdx", 0)))
    ]
    counts = {k: data.get(k) for k in ("TotalCount", "SentCount", "ErrorCount")}
    return {"article_urls": urls, **{k.lower(): int(v) for k, v in counts.items() if v is not None}}
