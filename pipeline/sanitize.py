"""The one sanitising rule for an item's body, at intake and in every output.

The intake stores the body through :func:`sanitize_html`, and every output that
carries it (the website's pages, the feeds' full text, the archive's ``index.html``,
the WeChat article) passes it through again, so a body stored before a rule was
tightened never reaches a reader with what the rule now refuses.

An allow-list (nh3, i.e. ammonia), never a deny-list: the tags and attributes below,
URLs of the schemes below, and per tag:

- ``<a href>``: http, https, mailto or a relative link, never ``data:`` (a
  ``data:text/html`` link is a page of the attacker's making under our name);
- ``<img src>``: http, https, a relative path, or an inline raster image
  (``data:image/png|jpeg|gif|webp``): no SVG, which can carry script.

Browsers ignore ASCII whitespace and control characters inside a URL
(``da&#9;ta:``), so the check looks at the value without them.
"""

from __future__ import annotations

import re

import nh3

BODY_TAGS = {
    "p",
    "br",
    "strong",
    "b",
    "em",
    "i",
    "u",
    "span",
    "div",
    "h2",
    "h3",
    "h4",
    "h5",
    "ul",
    "ol",
    "li",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "caption",
    "a",
    "img",
    "blockquote",
    "sub",
    "sup",
    "hr",
}
BODY_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
}
URL_SCHEMES = {"http", "https", "mailto", "data"}  # narrowed per tag below
URL_ATTRIBUTES = {("a", "href"), ("img", "src")}
INLINE_IMAGE = re.compile(r"data:image/(png|jpeg|gif|webp)[;,]")
INVISIBLE = re.compile(r"[\x00-\x20\x7f]+")


def allowed_url(tag: str, attribute: str, value: str) -> bool:
    """Whether a URL may stay on this tag (after nh3's scheme allow-list)."""
    url = INVISIBLE.sub("", value).lower()
    if url.startswith("data:"):
        return tag == "img" and INLINE_IMAGE.match(url) is not None
    if url.startswith("mailto:"):
        return tag == "a"
    return True


def _filter(tag: str, attribute: str, value: str) -> str | None:
    if (tag, attribute) in URL_ATTRIBUTES and not allowed_url(tag, attribute, value):
        return None
    return value


def sanitize_html(html: str) -> str:
    """The body as every output may carry it."""
    return nh3.clean(
        html,
        tags=BODY_TAGS,
        attributes=BODY_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        attribute_filter=_filter,
        link_rel="noopener noreferrer",
    )
