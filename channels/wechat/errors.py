"""Every WeChat failure translated to :mod:`pipeline.errors`, in this one place.

    errcode                         becomes
    -1, 5xx, network errors         TransientError      retried with backoff
    45009                           NotDue              at midnight China time, when WeChat's
                                                        daily quotas reset (no attempt spent)
    45011, 45066                    NotDue              a minute later (no attempt spent)
    53501                           RateLimited         retried with backoff
    40001/40014/42001 (twice)       TransientError      the one token retry failed too
    45028                           NotDue              the next quota window
    48001, 40164, 53503, 40013,     PermanentError      with what the operator must do
    40125, 45002-45005, 40007,
    40033, other codes
    no errcode, HTTP status only    as every channel's HTTP answers (channels.kit.http)

Permanent messages name the errcode and the fix, because an operator reads them in
the delivery log without the WeChat documentation at hand.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from wechatpy.exceptions import WeChatClientException

from channels.kit import http
from channels.wechat.schedule import quota_reset
from pipeline.errors import ConfigError, DeliveryError, NotDue, PermanentError, RateLimited, TransientError

RATE_LIMITS = {
    53501: "publishing too frequently (53501)",
}
MINUTE_LIMITS = {
    45011: "too many calls this minute (45011)",
    45066: "mass send retried too fast (45066)",
}
DAILY_QUOTA = 45009
QUOTA_ERRORS = frozenset({45009, 45028})  # what a mass send waits a whole window for
TRANSIENT = {
    -1: "WeChat is busy (-1)",
    40001: "access token refused again after one refresh (40001)",
    40014: "access token invalid again after one refresh (40014)",
    42001: "access token expired again after one refresh (42001)",
}
PERMANENT = {
    48001: (
        "the account may not call this API (48001): publishing and mass sends need a "
        "certified (认证) official account; certify it in the MP console, then retry"
    ),
    53503: (
        "the draft failed WeChat's publish check (53503): edit the item's text or images "
        "so they pass WeChat's content rules, then submit a new revision"
    ),
    40013: "the configured appid is not valid (40013): check options.appid",
    40125: "the AppSecret is wrong (40125): set the current secret in the environment or secret_file",
    45002: "the article body is too long for WeChat (45002)",
    45003: "the title is longer than 32 characters (45003): set the item's wechat_title",
    45004: "the digest is longer than 128 characters (45004)",
    45005: "the 阅读原文 link is longer than 1 KB (45005): shorten public_url",
    45110: "the author is longer than 16 characters (45110): shorten options.author",
    40007: "WeChat does not know a media_id we sent (40007): a cover or draft was deleted in the console",
    40033: "the request carried \\uXXXX escapes (40033): a govpub bug, please report it",
    45028: "no mass-send quota left (45028)",
}
IP_PATTERN = re.compile(r"invalid ip ([0-9A-Fa-f:.]+)")


def translate(
    exc: BaseException, next_window: datetime | None = None, now: datetime | None = None
) -> DeliveryError:
    """The pipeline error for a wechatpy or HTTP failure (call as ``raise translate(e) from e``).
    Quota errors wait for their reset without spending an attempt: ``now`` is the clock."""
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, ConfigError):  # e.g. the AppSecret's environment variable is not set
        return PermanentError(f"the WeChat channel is not configured: {exc}")
    if isinstance(exc, requests.RequestException):
        return TransientError(f"WeChat API unreachable: {type(exc).__name__}: {exc}")
    if not isinstance(exc, WeChatClientException):
        return TransientError(f"{type(exc).__name__}: {exc}")
    code = exc.errcode
    if code is None:  # no errcode: the HTTP status says it (channels.kit.http's rule)
        status = getattr(exc.response, "status_code", None)
        if not isinstance(status, int):
            return TransientError("WeChat API answered without a status")
        headers = getattr(exc.response, "headers", {})
        when = http.retry_at(headers.get("retry-after", ""), now or datetime.now(UTC))
        return http.status_error(status, f"WeChat API answered HTTP {status}", retry_at=when)
    said = f"{exc.errmsg}" if exc.errmsg else ""
    if code == 45028:
        return NotDue(f"{PERMANENT[45028]}; waiting for the next window", retry_at=next_window)
    now = now or datetime.now(UTC)
    if code == DAILY_QUOTA:
        reset = quota_reset(now)
        return NotDue(
            f"the account's daily quota for this API is used up (45009) [{said}]; it resets at "
            f"midnight China time: next try {reset:%Y-%m-%d %H:%M} (UTC+8)",
            retry_at=reset,
        )
    if code in MINUTE_LIMITS:
        return NotDue(f"{MINUTE_LIMITS[code]}; next try in a minute", retry_at=now + timedelta(seconds=61))
    if code in RATE_LIMITS:
        return RateLimited(RATE_LIMITS[code])
    if code in TRANSIENT:
        return TransientError(f"{TRANSIENT[code]}: {said}")
    if code == 40164:
        match = IP_PATTERN.search(str(exc.errmsg or ""))
        ip = match.group(1) if match else "this server's address"
        return PermanentError(
            f"WeChat refused the calling IP {ip} (40164): add {ip} to the IP whitelist "
            "(MP console → 设置与开发 → 基本配置 → IP白名单), then retry"
        )
    if code in PERMANENT:
        return PermanentError(f"{PERMANENT[code]} [{said}]")
    return PermanentError(f"WeChat refused the call with errcode {code}: {said}")


def publish_failure(status: int, fail_idx: list[int]) -> PermanentError:
    """A finished publication that did not go out (``publish_status`` 2–6)."""
    where = f" (article {', '.join(map(str, fail_idx))})" if fail_idx else ""
    reasons = {
        2: "failed WeChat's originality check (原创校验)",
        3: "failed at WeChat (常规失败); submit a new revision or publish from the MP console",
        4: "was rejected by the platform review (平台审核不通过): revise the content, submit a new revision",
        5: "was deleted in the MP console after it went out",
        6: "was banned after it went out (封禁)",
    }
    reason = reasons.get(status, f"ended with publish_status {status}")
    return PermanentError(f"the publication{where} {reason} [publish_status {status}]")


@contextmanager
def wechat_errors(next_window: datetime | None = None, now: datetime | None = None) -> Iterator[None]:
    """Translate whatever a block of WeChat calls raises (see :func:`translate`)."""
    try:
        yield
    except DeliveryError:
        raise
    except Exception as exc:
        raise translate(exc, next_window, now) from exc


def answer_of(call: Callable[[], Any], now: datetime | None = None) -> Any:
    """A batch answer for one delivery: what ``call`` returns, or its error translated."""
    try:
        return call()
    except Exception as exc:
        return translate(exc, now=now)
