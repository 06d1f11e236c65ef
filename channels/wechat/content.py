"""An item revision as a WeChat article, within WeChat's limits.

- the body narrowed to what WeChat keeps (no script, no external image: WeChat strips
  ``src`` that is not its own, so every image is uploaded with ``media/uploadimg`` and
  its ``src`` rewritten). Images are fetched under the outbound policy
  (:mod:`pipeline.outbound`: public addresses or the allow-list, 10 MiB read as it
  arrives, timeouts); one that cannot be had (refused, unreachable, 404, not an image)
  becomes visible alt text ``[图片：…]`` and the article goes out, unless the option
  ``missing_images = "fail"`` holds the item. The source is told only that image N
  could not be fetched; the reason goes to the worker's log;
- a cover as permanent ``thumb`` material, uploaded once per image and reused;
- the digest from the summary within 128 characters; 阅读原文 = the website page,
  where the attachments are (WeChat articles cannot carry files): they are listed;
- a title over 32 characters is refused, never cut: an official title stays whole,
  and the operator sets ``wechat_title`` instead.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from html import escape, unescape
from typing import Any, Protocol
from urllib.parse import urljoin

import nh3
import structlog

from channels.wechat import images
from channels.wechat.options import WeChatOptions
from channels.wechat.records import Records
from pipeline import outbound
from pipeline.errors import PermanentError
from pipeline.model import Published
from pipeline.sanitize import BODY_ATTRIBUTES, BODY_TAGS, sanitize_html

TITLE_MAX, DIGEST_MAX, CONTENT_MAX_CHARS, CONTENT_MAX_BYTES, SOURCE_URL_MAX = 32, 128, 20_000, 1_000_000, 1024
IMG_TAG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
ATTR = re.compile(r'\s([a-z]+)="([^"]*)"')
IMAGE_FETCH_LIMIT = 10 * 1024 * 1024
log = structlog.get_logger("govpub.wechat")


class Uploader(Protocol):
    def upload_content_image(self, filename: str, data: bytes, mime: str) -> str: ...
    def add_thumb(self, filename: str, data: bytes) -> tuple[str, str]: ...


@dataclass
class Article:
    """The ``draft/add`` article plus what was changed on the way (for the delivery log)."""

    fields: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def wechat_title(item: Published) -> str:
    title = item.fields.get("wechat_title") or item.title
    if len(title) > TITLE_MAX:
        raise PermanentError(
            f"the title has {len(title)} characters and WeChat allows {TITLE_MAX}: set the item's "
            "wechat_title (a title of at most 32 characters for WeChat) and submit a new revision; "
            "govpub never shortens an official title itself"
        )
    return title


def digest(item: Published, body_text: str) -> str:
    text = " ".join((item.summary or body_text).split())
    return text if len(text) <= DIGEST_MAX else text[: DIGEST_MAX - 1] + "…"


def plain_text(html: str) -> str:
    return unescape(nh3.clean(html, tags=set()))


def metadata_block(item: Published) -> str:
    parts = [f"索引号：{item.index_no}", f"发布机构：{item.agency.name}"]
    if item.doc_no:
        parts.append(f"文号：{item.doc_no}")
    return f"<p>{escape('　'.join(parts))}</p>"


def interprets_block(item: Published, link_of: Callable[[str], str] | None) -> str:
    """解读的政策: a line naming (and linking) the policies the item interprets, which
    inspections ask every interpretation to show."""
    if not item.interprets:
        return ""
    named = [
        f'<a href="{escape(link_of(p.index_no), quote=True)}">{escape(p.title)}</a>'
        if link_of
        else escape(p.title)
        for p in item.interprets
    ]
    return f"<p>解读的政策：{'；'.join(named)}</p>"


def attachments_block(item: Published, page_url: str) -> str:
    if not item.attachments:
        return ""
    link = escape(page_url, quote=True)
    rows = "".join(f'<li><a href="{link}">{escape(a.name)}</a></li>' for a in item.attachments)
    return f"<p><strong>附件</strong>（请点击“阅读原文”在网站下载）：</p><ol>{rows}</ol>"


def narrowed(html: str) -> str:
    """The shared allow-list, narrowed to http(s) links (``data:`` images are uploaded first)."""
    return nh3.clean(
        html,
        tags=BODY_TAGS,
        attributes={tag: set(attrs) for tag, attrs in BODY_ATTRIBUTES.items()},
        url_schemes={"http", "https"},
        link_rel=None,
    )


class ArticleMaker:
    """Builds articles for one channel; uploads go through ``uploader`` and are
    remembered in ``records`` so a retried or revised item uploads nothing twice."""

    def __init__(
        self,
        uploader: Uploader,
        records: Records,
        options: WeChatOptions,
        policy: outbound.Policy,
        link_of: Callable[[str], str] | None = None,
    ) -> None:
        self.uploader = uploader
        self.records = records
        self.options = options
        self.policy = policy
        self.link_of = link_of  # 索引号 → the item's website page (a policy's, for 解读的政策)

    def make(self, item: Published, page_url: str, blob: Any, now: datetime) -> Article:
        title = wechat_title(item)
        if len(page_url.encode()) > SOURCE_URL_MAX:
            raise PermanentError(
                f"the 阅读原文 link is longer than 1 KB: {page_url[:80]}…; shorten public_url"
            )
        article = Article(fields={})
        body = self._images(item.body_html, page_url, article, now)
        head = metadata_block(item) + interprets_block(item, self.link_of)
        content = head + body + attachments_block(item, page_url)
        if len(content) >= CONTENT_MAX_CHARS or len(content.encode()) >= CONTENT_MAX_BYTES:
            article.notes.append(
                f"body of {len(content)} characters abridged: the full text is on the website"
            )
            content = (
                head
                + f"<p>{escape(item.summary)}</p>"
                + f"<p>全文共{len(plain_text(item.body_html))}字，超出微信图文长度限制，"
                + "请点击“阅读原文”查看全文。</p>"
                + attachments_block(item, page_url)
            )
        author = self.options.author or (item.agency.name if len(item.agency.name) <= 16 else "")
        article.fields = {
            "title": title,
            "author": author,
            "digest": digest(item, plain_text(item.body_html)),
            "content": content,
            "content_source_url": page_url,
            "thumb_media_id": self._cover(item, title, blob, now),
            "need_open_comment": 0,
            "only_fans_can_comment": 0,
        }
        return article

    # -- body images ----------------------------------------------------------------
    def _images(self, body_html: str, page_url: str, article: Article, now: datetime) -> str:
        """Every ``<img>`` uploaded and pointed at WeChat's copy, or shown as its alt text."""
        uploaded: set[str] = set()
        count = 0

        def rewrite(match: re.Match[str]) -> str:
            nonlocal count
            count += 1
            attrs = {k: unescape(v) for k, v in ATTR.findall(match.group(0))}
            alt = attrs.get("alt", "").strip()
            src = attrs.get("src", "").strip()
            url = self._upload(data, now) if (data := self._image_bytes(src, page_url)) else None
            if url is None:
                return self._missing(count, alt, article)
            uploaded.add(url)
            return f'<img src="{escape(url, quote=True)}" alt="{escape(alt, quote=True)}">'

        body = narrowed(IMG_TAG.sub(rewrite, sanitize_html(body_html)))
        stray = [m for m in IMG_TAG.findall(body) if dict(ATTR.findall(m)).get("src", "") not in uploaded]
        if stray:  # defence in depth: nothing but WeChat's own image URLs reaches draft/add
            raise PermanentError(f"an image escaped the upload step: {stray[0][:120]}")
        return body

    def _missing(self, number: int, alt: str, article: Article) -> str:
        """An image that could not be had: visible alt text, unless the operator chose
        ``missing_images = "fail"``. Neither says why (that is in the worker's log)."""
        if self.options.missing_images == "fail":
            raise PermanentError(
                f"image {number} of the body could not be fetched; the channel option "
                'missing_images = "fail" holds the item: fix the image and submit a new '
                "revision, or retry once it can be fetched"
            )
        article.notes.append(f"image {number} could not be fetched: shown as its alt text")
        return f"<span>[图片：{escape(alt)}]</span>" if alt else "<span>[图片]</span>"

    def _image_bytes(self, src: str, page_url: str) -> bytes | None:
        """The image's bytes: decoded from ``data:``, or fetched under the outbound
        policy (pipeline.outbound); None when it cannot be had."""
        if not src:
            return None
        if src.startswith("data:"):
            try:
                return base64.b64decode(src.split(",", 1)[1], validate=True)
            except (IndexError, binascii.Error, ValueError):
                log.warning("body image not decodable", src=src[:80])
                return None
        url = urljoin(page_url, src)
        try:
            return outbound.fetch(url, self.policy, IMAGE_FETCH_LIMIT, user_agent="govpub wechat")
        except outbound.FetchError as exc:
            log.warning("body image not fetched", url=url[:200], reason=exc.reason)
            return None

    def _upload(self, data: bytes, now: datetime) -> str | None:
        """WeChat's URL of the image (uploaded once); None when it is not an image."""
        sha = hashlib.sha256(data).hexdigest()
        known = self.records.media("content", sha)
        if known:
            return known[1]
        try:
            payload, mime, ext = images.for_upload(data)
        except images.NotAnImage as exc:
            log.warning("body image not readable", sha256=sha, reason=str(exc))
            return None
        url = self.uploader.upload_content_image(f"{sha[:16]}.{ext}", payload, mime)
        self.records.remember_media("content", sha, "", url, now)
        return url

    # -- cover ----------------------------------------------------------------------
    def _cover(self, item: Published, title: str, blob: Any, now: datetime) -> str:
        if item.cover_image is not None:
            source = blob(item.cover_image.sha256)
        elif self.options.default_cover is not None:
            source = self.options.default_cover.read_bytes()
        else:
            source = images.title_cover(title, self.options.cover_font)
        sha = hashlib.sha256(source).hexdigest()
        known = self.records.media("thumb", sha)
        if known:
            return known[0]
        try:
            thumb = images.for_thumb(source)
        except images.NotAnImage as exc:
            raise PermanentError(f"the cover image is not a readable image: {exc}") from exc
        media_id, url = self.uploader.add_thumb(f"{sha[:16]}.jpg", thumb)
        self.records.remember_media("thumb", sha, media_id, url, now)
        return media_id
