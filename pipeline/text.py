"""The one text rule for every string that comes in: what a character may be.

Every string field of every request body is declared with :data:`Str` (plus its
own length or pattern constraints), which carries :func:`check_text`; a test walks
the request models of every route so that a new field cannot escape it. The rule is XML 1.0's
``Char`` without the control characters: tab, line feed and carriage return are
the only controls allowed; NUL and the other C0 controls, DEL, the C1 controls,
lone surrogates and the non-characters U+FFFE and U+FFFF are refused with the
position and code point, so a string accepted here can go into any channel
(XML for archives and feeds, PostgreSQL text, JSON, HTML) unchanged.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, ValidationInfo

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
