"""Weibo's error codes → the delivery error tree.

Weibo answers a refused call with HTTP 400/403 and ``{"error", "error_code",
"request"}``; the code decides, not the status:

- token expired or invalid (21315, 21316, 21317, 21319, 21327, 21332, 21501 as
  ``invalid_access_token``): :class:`TokenRefused` (renewed once, then the operator);
- frequency (10022 IP, 10023 user, 10024 user per API, 20016 posting too often):
  ``RateLimited`` (backoff);
- system (10001–10003, 10009–10011, 20032 "sent, server slow"): ``TransientError``;
- repeat content (20017, 20019, 20111): :class:`Duplicate` (the channel looks for the
  post it already made);
- target gone (20101): :class:`Gone` (a retraction is then done);
- everything else (20003 no such user, 20012/20013 text too long, 20018 illegal
  website, 20020 advertising, 20021 illegal content, 10017 link outside the safe
  domain, 10014 permissions…): ``PermanentError`` with Weibo's reason.
"""

from __future__ import annotations

from pipeline.errors import DeliveryError, PermanentError, RateLimited, TransientError

TOKEN = frozenset({21314, 21315, 21316, 21317, 21319, 21327, 21332, 21501})
FREQUENCY = frozenset({10022, 10023, 10024, 20016})
SYSTEM = frozenset({10001, 10002, 10003, 10009, 10010, 10011, 20032})
DUPLICATE = frozenset({20017, 20019, 20111})
GONE = frozenset({20101})
HINTS = {
    10014: "the app lacks the permission: ask Weibo to grant statuses/share to the App Key",
    10017: "check the link is under the app's registered safe domain (safe_domain)",
    20003: "the authorised user does not exist: re-authorise the account",
    20012: "set the item's weibo_text to a shorter text",
    20013: "set the item's weibo_text to a shorter text",
    20018: "Weibo refuses a website in the text: check the link and weibo_text",
    20020: "Weibo took the text for advertising: rewrite it in weibo_text",
    20021: "Weibo refused the content: rewrite it in weibo_text",
}


class WeiboError(Exception):
    def __init__(self, code: int, message: str, request: str = "") -> None:
        super().__init__(f"Weibo error {code} on {request or '?'}: {message}")
        self.code, self.message, self.request = code, message, request


class TokenRefused(TransientError):
    """The access token was refused (expired, revoked): renew it and try again."""


class Duplicate(PermanentError):
    """Weibo holds the same text already (20019)."""


class Gone(PermanentError):
    """The post is not there (20101)."""


def classify(code: int, message: str, request: str = "") -> DeliveryError:
    what = f"Weibo refused {request or 'the call'} with {code} ({message})"
    if code in TOKEN:
        return TokenRefused(what)
    if code in FREQUENCY:
        return RateLimited(f"{what}: Weibo's frequency limit, trying again later")
    if code in SYSTEM:
        return TransientError(what)
    if code in DUPLICATE:
        return Duplicate(what)
    if code in GONE:
        return Gone(what)
    hint = HINTS.get(code)
    return PermanentError(f"{what}: {hint}" if hint else what)
