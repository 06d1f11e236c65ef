"""The post's text: ``【title】summary link``, within Weibo's 140 characters.

Weibo counts a Chinese character as one and two ASCII characters as one (rounded up);
links are counted as written (Weibo shortens them, so the count is never too low). The
summary is left out whole when the post has no room for it; a title and link that do
not fit are a permanent error naming the item field ``weibo_text`` (never a silent
cut). An item's ``weibo_text`` is used as given, with the link appended when it does
not contain it already."""

from __future__ import annotations

import math
import re

from pipeline.errors import PermanentError
from pipeline.model import Published

LIMIT = 140
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"\s+")


def weibo_length(text: str) -> int:
    """The length Weibo counts: CJK and other wide characters 1, ASCII ½ (rounded up)."""
    return math.ceil(sum(0.5 if ord(c) < 128 else 1 for c in text))


def clean(text: str) -> str:
    return _SPACES.sub(" ", _CONTROL.sub("", text)).strip()


def compose(item: Published, link: str, *, with_summary: bool = True) -> str:
    given = clean(str(item.fields.get("weibo_text") or ""))
    if given:
        text = given if link in given else f"{given} {link}"
        if weibo_length(text) > LIMIT:
            raise PermanentError(
                f"weibo_text with the link is {weibo_length(text)} characters; Weibo takes {LIMIT}: "
                f"shorten the item's weibo_text to at most {LIMIT - weibo_length(' ' + link)} "
                "characters before the link"
            )
        return text
    title, summary = clean(item.title), clean(item.summary)
    if with_summary and summary:
        full = f"【{title}】{summary} {link}"
        if weibo_length(full) <= LIMIT:
            return full
    short = f"【{title}】{link}"
    if weibo_length(short) > LIMIT:
        room = LIMIT - weibo_length(" " + link)
        raise PermanentError(
            f"the Weibo post (title and link) would be {weibo_length(short)} characters; Weibo takes "
            f"{LIMIT}: set the item's weibo_text (at most {room} characters; the link is added)"
        )
    return short
