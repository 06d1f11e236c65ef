"""The CMS push signature, shared by the http adapter and the CMS sandbox.

``X-Govpub-Signature: sha256=<hex>`` is an HMAC-SHA256, keyed by the shared
secret, over ``"<timestamp>\\n<METHOD>\\n<path>\\n"`` followed by the body bytes;
``X-Govpub-Timestamp`` is the Unix time in seconds. Method and path are signed
too, so a signed DELETE (which has no body) cannot be replayed against another
document; a receiver refuses timestamps more than ``MAX_SKEW`` seconds away.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Govpub-Signature"
TIMESTAMP_HEADER = "X-Govpub-Timestamp"
MAX_SKEW = 300


def signature(secret: str, timestamp: str, method: str, path: str, body: bytes) -> str:
    message = f"{timestamp}\n{method.upper()}\n{path}\n".encode() + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(
    secret: str, timestamp: str, method: str, path: str, body: bytes, given: str, now: float
) -> str | None:
    """None when the request is authentic, else why not."""
    if not timestamp.isdigit():
        return "missing or malformed timestamp"
    if abs(now - int(timestamp)) > MAX_SKEW:
        return "timestamp too far from now"
    if not hmac.compare_digest(signature(secret, timestamp, method, path, body), given):
        return "signature does not match"
    return None
