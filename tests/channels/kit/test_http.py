"""One rule maps every HTTP answer to the delivery error tree (channels.kit.http)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from channels.kit import http
from pipeline.errors import DeliveryError, PermanentError, RateLimited, TransientError

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def answering(status: int, headers: dict[str, str] | None = None, body: object = None) -> httpx.Client:
    """A client whose service always answers ``status`` (httpx's own transport fake)."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers=headers, json=body if body is not None else {"message": "说明"})

    return httpx.Client(transport=httpx.MockTransport(handler))


def outcome(status: int, **kw: object) -> type[DeliveryError] | None:
    try:
        http.request(answering(status, **kw), "PUT", "http://svc.test/x", what="svc", now=NOW)  # type: ignore[arg-type]
    except DeliveryError as exc:
        return type(exc)
    return None


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (200, None),
        (201, None),
        (204, None),
        (301, PermanentError),
        (307, PermanentError),
        (400, PermanentError),
        (401, PermanentError),
        (403, PermanentError),
        (404, PermanentError),
        (409, PermanentError),
        (422, PermanentError),
        (408, TransientError),
        (425, TransientError),
        (429, RateLimited),
        (500, TransientError),
        (502, TransientError),
        (503, TransientError),
        (504, TransientError),
    ],
)
def test_each_status_has_one_outcome(status: int, expected: type[DeliveryError] | None) -> None:
    assert outcome(status) is expected


def test_retry_after_in_seconds_or_as_a_date_sets_retry_at() -> None:
    with pytest.raises(RateLimited) as seconds:
        http.request(answering(429, {"retry-after": "120"}), "GET", "http://svc.test/", what="svc", now=NOW)
    assert seconds.value.retry_at == NOW + timedelta(seconds=120)
    with pytest.raises(TransientError) as dated:
        http.request(
            answering(503, {"retry-after": "Sun, 01 Mar 2026 09:30:00 GMT"}),
            "GET",
            "http://svc.test/",
            what="svc",
            now=NOW,
        )
    assert dated.value.retry_at == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    with pytest.raises(TransientError) as garbled:
        http.request(answering(503, {"retry-after": "soon"}), "GET", "http://svc.test/", what="svc", now=NOW)
    assert garbled.value.retry_at is None


def test_messages_carry_the_service_words_the_request_and_a_hint() -> None:
    with pytest.raises(PermanentError) as refused:
        http.request(
            answering(401, body={"error": "令牌无效"}), "PUT", "http://svc.test/a", what="CMS", now=NOW
        )
    text = str(refused.value)
    assert "CMS answered 401 to PUT http://svc.test/a: 令牌无效" in text and "check the credentials" in text
    with pytest.raises(PermanentError, match=r"moved to https://new\.test/a"):
        http.request(
            answering(301, {"location": "https://new.test/a"}),
            "GET",
            "http://svc.test/a",
            what="CMS",
            now=NOW,
        )


def test_statuses_the_channel_handles_itself_come_back() -> None:
    answer = http.request(answering(404), "DELETE", "http://svc.test/a", what="CMS", now=NOW, ok={404})
    assert answer.status_code == 404


def test_no_answer_is_transient() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("read timed out", request=request)

    with pytest.raises(TransientError, match="unreachable"):
        http.request(
            httpx.Client(transport=httpx.MockTransport(down)), "GET", "http://svc.test/", what="s", now=NOW
        )
    with pytest.raises(TransientError, match="timed out"):
        http.request(
            httpx.Client(transport=httpx.MockTransport(slow)), "GET", "http://svc.test/", what="s", now=NOW
        )


def test_the_same_rule_for_a_client_that_only_gives_the_status() -> None:
    """(an SDK built on requests, as wechatpy is: channels/wechat/errors.py)"""
    assert type(http.status_error(404, "WeChat API answered HTTP 404")) is PermanentError
    assert type(http.status_error(502, "WeChat API answered HTTP 502")) is TransientError
    limited = http.status_error(429, "slow down", retry_at=http.retry_at("30", NOW))
    assert isinstance(limited, RateLimited) and limited.retry_at == NOW + timedelta(seconds=30)
