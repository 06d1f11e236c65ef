"""An HTTP exchange with a channel's service → the delivery error tree, one rule for all.

==========================  ==============================================================
the service answers         the delivery
==========================  ==============================================================
2xx, or a status the        done: the answer goes back to the channel
channel lists in ``ok``
3xx                         ``PermanentError`` naming the ``Location``: a configured
                            endpoint that moved is fixed in the configuration (writes are
                            never replayed to another address, and a redirect would leave
                            the outbound policy's checked address); a channel that wants a
                            redirect followed lets its client follow it, so it never
                            reaches this table
408, 425, 429, 5xx          ``TransientError`` (429: ``RateLimited``), retried with backoff;
                            ``retry_at`` from ``Retry-After`` (seconds or an HTTP date)
other 4xx                   ``PermanentError`` with the service's own message (and for
                            401/403/404 what to check), so an operator can act
no answer (timeout,         ``TransientError``
connection refused, reset)
==========================  ==============================================================

A channel with protocol knowledge decides first and lets the rule do the rest: a 404
to a DELETE means "already gone" (``ok={404}``); an archive receiver's 422 means the
bytes arrived damaged, which another upload can cure.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from pipeline.errors import DeliveryError, PermanentError, RateLimited, TransientError

TRANSIENT = frozenset({408, 425, 429})
HINTS = {
    401: "check the credentials (their environment variable or file)",
    403: "check the credentials and what they are allowed to do",
    404: "check the configured URL",
    405: "check the configured URL",
}


def request(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    what: str,
    now: datetime,
    ok: Collection[int] = (),
    **kwargs: Any,
) -> httpx.Response:
    """Send one request and classify its outcome; ``what`` names the service in
    messages ("CMS", "WebSub hub …"), ``now`` is the attempt's time (``ctx.now``)."""
    with unanswered(f"{what}: {method} {url}"):
        answer = client.request(method, url, **kwargs)
    return check(answer, what=what, now=now, ok=ok)


@contextmanager
def unanswered(what: str) -> Iterator[None]:
    """Around a request (or a streamed upload): no answer at all is transient."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise TransientError(f"{what}: timed out") from exc
    except httpx.HTTPError as exc:
        raise TransientError(f"{what}: unreachable: {exc}") from exc


def check(answer: httpx.Response, *, what: str, now: datetime, ok: Collection[int] = ()) -> httpx.Response:
    """The answer itself, when the table above says done; else its error."""
    status = answer.status_code
    if answer.is_success or status in ok:
        return answer
    request = answer.request
    message = f"{what} answered {status} to {request.method} {request.url}: {service_message(answer)}"
    when = retry_at(answer.headers.get("retry-after", ""), now)
    raise status_error(status, message, retry_at=when, location=answer.headers.get("location"))


def status_error(
    status: int, message: str, *, retry_at: datetime | None = None, location: str | None = None
) -> DeliveryError:
    """The error for an unsuccessful HTTP status (the table above), for a client other
    than httpx too (an SDK that exposes the status: ``raise status_error(…) from exc``)."""
    if 300 <= status < 400:
        return PermanentError(f"{message} (moved to {location or '?'}: configure the new address)")
    if status == 429:
        return RateLimited(message, retry_at=retry_at)
    if 400 <= status < 500 and status not in TRANSIENT:
        hint = HINTS.get(status)
        return PermanentError(f"{message} ({hint})" if hint else message)
    return TransientError(message, retry_at=retry_at)


def retry_at(value: str, now: datetime) -> datetime | None:
    """When a ``Retry-After`` header's ``value`` asks to come back: ``now`` + seconds, or
    the date it names; None when it says neither."""
    value = value.strip()
    if value.isdigit():
        return now + timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else None


def service_message(answer: httpx.Response) -> str:
    """The service's own explanation, whatever shape it has (at most 500 characters)."""
    try:
        body = answer.json()
    except ValueError:
        return answer.text[:500] or answer.reason_phrase
    if isinstance(body, dict):
        for key in ("message", "error", "detail", "errmsg"):
            if body.get(key):
                return str(body[key])[:500]
    return json.dumps(body, ensure_ascii=False)[:500]
