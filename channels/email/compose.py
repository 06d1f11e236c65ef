"""The messages: an item (to a newsroom, in full; to a subscriber, with its unsubscribe
link and RFC 8058 headers), a retraction notice, a daily digest and the confirmation
request. Every body is built from sanitised HTML plus a plain-text part."""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from pipeline.model import Published
from pipeline.sanitize import sanitize_html


@dataclass(frozen=True)
class Envelope:
    sender: str
    sender_name: str
    site_name: str


def message_id(channel: str, key: str, address: str, sender: str) -> str:
    """Stable for one delivery (``key``) and recipient: a retry sends the same Message-ID."""
    who = hashlib.sha256(address.lower().encode()).hexdigest()[:16]
    domain = sender.rpartition("@")[2]
    return f"<{key}.{who}.{channel}@{domain}>"


def _base(env: Envelope, to: str, subject: str, mid: str, now: datetime) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = formataddr((env.sender_name, env.sender))
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = mid
    msg["Date"] = format_datetime(now)
    msg["Auto-Submitted"] = "auto-generated"
    return msg


def _unsubscribe(msg: EmailMessage, unsubscribe_url: str | None) -> str:
    if unsubscribe_url is None:
        return ""
    msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return unsubscribe_url


def _fill(msg: EmailMessage, text: str, body_html: str, unsubscribe_url: str) -> None:
    if unsubscribe_url:
        text += f"\n\n退订：{unsubscribe_url}\n"
        body_html += f'<hr><p><a href="{html.escape(unsubscribe_url)}">退订</a></p>'
    msg.set_content(text)
    msg.add_alternative(f"<!doctype html><html><body>{body_html}</body></html>", subtype="html")


def item_message(
    env: Envelope,
    item: Published,
    url: str,
    to: str,
    mid: str,
    now: datetime,
    *,
    full: bool,
    unsubscribe_url: str | None = None,
) -> EmailMessage:
    """An item as it goes live: the whole body for a newsroom, title and summary for a subscriber."""
    msg = _base(env, to, item.title, mid, now)
    msg["X-Govpub-Index-No"] = item.index_no
    unsub = _unsubscribe(msg, unsubscribe_url)
    facts = (
        f"索引号：{item.index_no}\n发布机构：{item.agency.name}\n成文日期：{item.generated_on.isoformat()}"
    )
    if item.doc_no:
        facts += f"\n文号：{item.doc_no}"
    body = sanitize_html(item.body_html) if full else ""
    summary = item.summary or ""
    text = (
        f"{item.title}\n\n{facts}\n\n{summary}\n\n{html_text(body) if full else ''}\n\n全文：{url}".replace(
            "\n\n\n\n", "\n\n"
        )
    )
    page = (
        f"<h1>{html.escape(item.title)}</h1><p>{html.escape(facts).replace(chr(10), '<br>')}</p>"
        f"{'<p>' + html.escape(summary) + '</p>' if summary else ''}{body}"
        f'<p><a href="{html.escape(url)}">全文：{html.escape(url)}</a></p>'
    )
    _fill(msg, text, page, unsub)
    return msg


def retraction_message(
    env: Envelope,
    item: Published,
    reason: str,
    to: str,
    mid: str,
    now: datetime,
    *,
    refers_to: str | None,
    unsubscribe_url: str | None = None,
) -> EmailMessage:
    msg = _base(env, to, f"【撤回】{item.title}", mid, now)
    msg["X-Govpub-Index-No"] = item.index_no
    msg["X-Govpub-Retraction"] = "yes"
    if refers_to:
        msg["In-Reply-To"] = refers_to
        msg["References"] = refers_to
    unsub = _unsubscribe(msg, unsubscribe_url)
    text = f"此前发送的信息已撤回，请勿再引用。\n\n{item.title}\n索引号：{item.index_no}\n撤回原因：{reason}"
    page = (
        f"<p>此前发送的信息已撤回，请勿再引用。</p><h1>{html.escape(item.title)}</h1>"
        f"<p>索引号：{html.escape(item.index_no)}<br>撤回原因：{html.escape(reason)}</p>"
    )
    _fill(msg, text, page, unsub)
    return msg


def digest_message(
    env: Envelope,
    day: str,
    items: list[tuple[Published, str]],
    to: str,
    mid: str,
    now: datetime,
    unsubscribe_url: str,
) -> EmailMessage:
    msg = _base(env, to, f"{env.site_name} 每日信息摘要 {day}（{len(items)} 条）", mid, now)
    unsub = _unsubscribe(msg, unsubscribe_url)
    lines = [f"{day} 新公开的信息：", ""]
    rows = []
    for item, url in items:
        lines.append(f"· {item.title}（{item.agency.name}，{item.index_no}）\n  {url}")
        rows.append(
            f'<li><a href="{html.escape(url)}">{html.escape(item.title)}</a>'
            f"（{html.escape(item.agency.name)}，{html.escape(item.index_no)}）</li>"
        )
    _fill(msg, "\n".join(lines), f"<p>{html.escape(day)} 新公开的信息：</p><ul>{''.join(rows)}</ul>", unsub)
    return msg


def confirmation_message(
    env: Envelope, scope_label: str, mode: str, confirm_url: str, to: str, mid: str, now: datetime
) -> EmailMessage:
    msg = _base(env, to, f"请确认订阅：{env.site_name}", mid, now)
    how = "每日摘要" if mode == "digest" else "每条信息发布时"
    text = (
        f"您（或他人）用本地址订阅了 {env.site_name} 的「{scope_label}」，发送方式：{how}。\n\n"
        f"确认订阅请打开：{confirm_url}\n\n如果不是您本人操作，请忽略本邮件，不会再收到任何邮件。"
    )
    page = (
        f"<p>您（或他人）用本地址订阅了 {html.escape(env.site_name)} 的"
        f"「{html.escape(scope_label)}」，发送方式：{how}。</p>"
        f'<p><a href="{html.escape(confirm_url)}">确认订阅</a></p><p>如果不是您本人操作，请忽略本邮件。</p>'
    )
    _fill(msg, text, page, "")
    return msg


def html_text(fragment: str) -> str:
    """Plain text of a sanitised fragment, for the text part."""
    text = re.sub(r"<(br|/p|/div|/h\d|/li)[^>]*>", "\n", fragment)
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()
