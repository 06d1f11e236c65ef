"""The subscription pages an agency's column links to: ``/subscribe/{channel}`` (the
form: an address, a scope, per item or the daily digest), the signed confirmation link
(double opt-in) and the unsubscribe link of every message, whose POST is the RFC 8058
one-click unsubscribe (``List-Unsubscribe=One-Click``) mail clients send.

The form answers the same whatever the address (no one learns who subscribes), and
nothing is sent but the confirmation until it is opened."""

from __future__ import annotations

from datetime import timedelta
from html import escape
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse

from pipeline.errors import ConfigError, DeliveryError
from pipeline.services import Services

from . import links
from .channel import EmailChannel
from .options import valid_address
from .subscribers import MODES, Subscriber

# the forms are read before anyone is known: an address, a scope and a mode
FORM_BODY_BYTES = 8 * 1024
router = APIRouter(tags=["email"], include_in_schema=False)


def _channel(request: Request, name: str) -> EmailChannel:
    services: Services = request.app.state.services
    cfg = services.settings.channels.get(name)
    if cfg is None or cfg.kind != "email":
        raise HTTPException(404, "no such subscription")
    channel = services.channel(name)
    assert isinstance(channel, EmailChannel)
    if not channel.opts.subscriptions:
        raise HTTPException(404, "no such subscription")
    return channel


def scopes(channel: EmailChannel) -> dict[str, str]:
    """What one may subscribe to: everything, an agency's items, a category's."""
    found = {"all": "全部公开信息"}
    for agency in channel.env.agencies.all(include_retired=False):
        found[f"agency:{agency.code}"] = agency.name
    for category in channel.env.settings.taxonomy:
        found[f"category:{category}"] = f"主题：{category}"
    return found


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        f"<body><main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )
    return HTMLResponse(html, status_code=status)


@router.get("/subscribe/{name}", response_class=HTMLResponse)
def form(request: Request, name: str, scope: str = "all") -> HTMLResponse:
    channel = _channel(request, name)
    options = "".join(
        f'<option value="{escape(key)}"{" selected" if key == scope else ""}>{escape(label)}</option>'
        for key, label in scopes(channel).items()
    )
    digest = (
        '<label><input type="radio" name="mode" value="digest"> '
        f"每日摘要（每天 {escape(channel.opts.digest_time)} 一封）</label>"
        if channel.batched
        else ""
    )
    body = (
        f'<form method="post" action="/subscribe/{quote(name)}">'
        '<p><label>电子邮箱 <input type="email" name="address" required maxlength="254"></label></p>'
        f'<p><label>订阅范围 <select name="scope">{options}</select></label></p>'
        '<p><label><input type="radio" name="mode" value="item" checked> 每条信息发布时</label> '
        f"{digest}</p>"
        '<p><button type="submit">订阅</button></p></form>'
        "<p>提交后我们会发送一封确认邮件，打开其中的链接后订阅才生效。每封邮件都附有退订链接。"
        "我们只保存邮箱地址、订阅范围、发送方式和时间。</p>"
    )
    return _page(f"订阅 {channel.env.settings.site_name}", body)


@router.post("/subscribe/{name}", response_class=HTMLResponse, max_body_size=FORM_BODY_BYTES)
def subscribe(
    request: Request, name: str, address: str = Form(...), scope: str = Form("all"), mode: str = Form("item")
) -> HTMLResponse:
    channel = _channel(request, name)
    known = scopes(channel)
    address = address.strip()
    if not valid_address(address):
        return _page("地址无效", "<p>请填写有效的电子邮箱地址。</p>", 422)
    if scope not in known or mode not in MODES or (mode == "digest" and not channel.batched):
        return _page("订阅无效", "<p>请选择列出的订阅范围和发送方式。</p>", 422)
    sub = channel.subscribers.subscribe(address, scope, mode, channel.env.clock())
    if sub.state != "confirmed":
        try:
            channel.send_confirmation(sub, known[scope])
        except (DeliveryError, ConfigError):
            return _page("暂时无法发送", "<p>确认邮件暂时无法发送，请稍后再试。</p>", 503)
    return _page(
        "请查收确认邮件",
        f"<p>如果 {escape(address)} 可以收信，一封确认邮件已发出；打开其中的链接后订阅生效。</p>",
    )


def _signed(channel: EmailChannel, purpose: str, s: int, t: str) -> Subscriber | None:
    sub: Subscriber | None = channel.subscribers.get(s)
    if sub is None or not links.valid(channel.signing_key(), purpose, channel.name, sub, t):
        return None
    return sub


@router.get("/subscribe/{name}/confirm", response_class=HTMLResponse)
def confirm(request: Request, name: str, s: int, t: str) -> HTMLResponse:
    channel = _channel(request, name)
    sub = _signed(channel, "confirm", s, t)
    if sub is None:
        return _page("链接无效", "<p>此确认链接无效或已使用过期，请重新订阅。</p>", 404)
    now = channel.env.clock()
    if sub.state == "pending" and now - sub.created_at > timedelta(hours=channel.opts.confirm_within_hours):
        return _page("链接已过期", "<p>此确认链接已过期，请重新订阅。</p>", 410)
    channel.subscribers.confirm(sub.id, now)
    unsubscribe = links.url(channel.env.settings.public_url, name, "unsubscribe", channel.signing_key(), sub)
    return _page("订阅成功", f'<p>订阅已生效。随时可以<a href="{escape(unsubscribe)}">退订</a>。</p>')


@router.get("/subscribe/{name}/unsubscribe", response_class=HTMLResponse)
def unsubscribe_page(request: Request, name: str, s: int, t: str) -> HTMLResponse:
    """A page with a button: a GET changes nothing (link scanners open links)."""
    channel = _channel(request, name)
    if _signed(channel, "unsubscribe", s, t) is None:
        return _page("已退订", "<p>此订阅已不存在。</p>")
    action = f"/subscribe/{quote(name)}/unsubscribe?s={s}&t={quote(t)}"
    return _page(
        "退订",
        f'<form method="post" action="{escape(action)}"><button type="submit">确认退订</button></form>',
    )


@router.post("/subscribe/{name}/unsubscribe", response_class=HTMLResponse, max_body_size=FORM_BODY_BYTES)
def unsubscribe(request: Request, name: str, s: int, t: str) -> HTMLResponse:
    """The button, and RFC 8058's one-click POST (body ``List-Unsubscribe=One-Click``)."""
    channel = _channel(request, name)
    sub = _signed(channel, "unsubscribe", s, t)
    if sub is not None:
        channel.subscribers.unsubscribe(sub.id)
    return _page("已退订", "<p>已退订，不会再收到此订阅的邮件。我们不保留您的地址。</p>")
