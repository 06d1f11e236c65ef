"""The one text rule for every string that comes in: what a character may be.

Every string field of every request body is declared with :data:`Str` (plus its
own length or pattern constraints), which carries :func:`check_text`; a test walks
the request models of every route so that a new field cannot escape it; every URL's
path and query meet it in :class:`CleanUrls` before any route. The rule is XML 1.0's
``Char`` without the control characters: tab, line feed and carriage return are
the only controls allowed; NUL and the other C0 controls, DEL, the C1 controls,
lone surrogates and the non-characters U+FFFE and U+FFFF are refused with the
position and code point, so a string accepted here can go into any channel
(XML for archives and feeds, PostgreSQL text, JSON, HTML) unchanged.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import unquote_plus

from pydantic import AfterValidator, ValidationInfo
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

# Everything outside XML 1.0 Char, plus DEL and the C1 controls (0x7f–0x9f).
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def text_problem(value: str) -> str | None:
    """Why ``value`` is not acceptable text, or None."""
    found = FORBIDDEN.search(value)
    if found is None:
        return None
    code = ord(found.group())
    return f"character U+{code:04X} at position {found.start()} is not allowed (a control character)"


def check_text(value: str, info: ValidationInfo) -> str:
    """The validator every request string carries (a ``ValueError`` becomes a 422).
    Stored data (validated with ``context={"stored": True}``) is read as it was
    accepted, under whatever rule held then: a channel must still get to see it."""
    if info.context and info.context.get("stored"):
        return value
    problem = text_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


TEXT_RULE = AfterValidator(check_text)


# The string type of every request field; constraints go around it:
# ``Annotated[Str, StringConstraints(max_length=64)]``.
Str = Annotated[str, TEXT_RULE]


def follows_rule(metadata: list[Any]) -> bool:
    """Whether a field's (or a type argument's) metadata carries the text rule."""
    return any(m is TEXT_RULE for m in metadata)


class CleanUrls:
    """ASGI middleware: the text rule for every URL. A path or query that holds a
    character the rule refuses (``%00`` included) is answered 400 before any route,
    so no handler can pass one on to the database (PostgreSQL refuses NUL: a 500)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query = unquote_plus(scope.get("query_string", b"").decode("latin-1"), errors="surrogateescape")
            problem = text_problem(scope.get("path", "")) or text_problem(query)
            if problem is not None:
                body = {"error": "malformed_request", "message": f"the URL: {problem}", "details": []}
                await JSONResponse(body, status_code=400)(scope, receive, send)
                return
        await self.app(scope, receive, send)
