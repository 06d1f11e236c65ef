"""Signed links of a subscription: confirm (double opt-in, expires) and unsubscribe
(valid as long as the subscription). An HMAC over what the link acts on, so nobody can
confirm or end someone else's subscription by guessing its number."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote, urlencode

from .subscribers import Subscriber


def token(key: str, purpose: str, channel: str, sub: Subscriber) -> str:
    message = f"{purpose}|{channel}|{sub.id}|{sub.address}|{sub.scope}|{sub.created_at.isoformat()}"
    digest = hmac.new(key.encode(), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")


def valid(key: str, purpose: str, channel: str, sub: Subscriber, given: str) -> bool:
    return hmac.compare_digest(token(key, purpose, channel, sub), given)


def url(public_url: str, channel: str, purpose: str, key: str, sub: Subscriber) -> str:
    query = urlencode({"s": sub.id, "t": token(key, purpose, channel, sub)})
    return f"{public_url.rstrip('/')}/subscribe/{quote(channel, safe='')}/{purpose}?{query}"
