"""``/wechat/callback``: the account's server URL (服务器配置), served by ``govpub serve``.

- GET: WeChat's verification; the signature is checked, ``echostr`` echoed.
- POST: events, in plain mode (``signature``) or safe mode (``encrypt_type=aes``,
  ``msg_signature``, AES with the EncodingAESKey). Nothing is trusted unsigned: a wrong
  signature, or a timestamp more than 5 minutes off, is answered 403. The token and the
  key are read per request from where ``token_env``/``token_file`` and
  ``encoding_aes_key_env``/``…_file`` say (never the configuration), so rotating them
  needs no restart.
- ``PUBLISHJOBFINISH`` and ``MASSSENDJOBFINISH`` record the job's result (the first
  report wins: WeChat repeats an event it got no answer to, and a replay changes
  nothing) and wake the deliveries waiting for it, which then finish without a poll.

The work is two small database writes, so the answer comes well within WeChat's 5 s.
With several channels, each gets ``/wechat/callback/{channel}``; ``/wechat/callback``
serves the only (or first) WeChat channel. In platform mode an agency's own account
(:mod:`.accounts`) gets ``/wechat/callback/{channel}/{account path}`` (its agency's column
path, or its code), checked with that account's token and key and recorded in that
account's records; the URLs without a path serve the instance's own account.
"""

from __future__ import annotations

import time
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.events import MassSendJobFinishEvent
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import check_signature

from channels.wechat.events import PublishJobFinishEvent, mass_event_result, mass_status, publish_result
from pipeline.services import Services

log = structlog.get_logger("govpub.wechat.callback")
router = APIRouter(tags=["wechat"], include_in_schema=False)
FORBIDDEN = PlainTextResponse("signature check failed", status_code=403)
NOT_CONFIGURED = PlainTextResponse("no WeChat callback configured here", status_code=404)
MAX_SKEW = 300  # seconds between WeChat's timestamp and our clock
CALLBACK_BODY_BYTES = 256 * 1024  # read before the signature can be checked: an event is a few KiB


def _channel(services: Services, name: str | None, path: str | None = None) -> Any:
    """The account the URL names (a channel's own without ``path``), or None."""
    names = [n for n, cfg in services.settings.channels.items() if cfg.kind == "wechat"]
    if name is None and names:
        name = names[0]
    if name not in names:
        return None
    channel: Any = services.channel(str(name))
    return channel.own if path is None else channel.account_by_path(path)


@router.get("/wechat/callback")
@router.get("/wechat/callback/{name}")
@router.get("/wechat/callback/{name}/{path}")
def verify(request: Request, name: str | None = None, path: str | None = None) -> Response:
    channel = _channel(request.app.state.services, name, path)
    token = channel.opts.callback_token() if channel is not None else None
    if not token:
        return NOT_CONFIGURED
    q = request.query_params
    try:
        check_signature(token, q.get("signature", ""), q.get("timestamp", ""), q.get("nonce", ""))
    except InvalidSignatureException:
        return FORBIDDEN
    return PlainTextResponse(q.get("echostr", ""))


@router.post("/wechat/callback", max_body_size=CALLBACK_BODY_BYTES)
@router.post("/wechat/callback/{name}", max_body_size=CALLBACK_BODY_BYTES)
@router.post("/wechat/callback/{name}/{path}", max_body_size=CALLBACK_BODY_BYTES)
async def receive(request: Request, name: str | None = None, path: str | None = None) -> Response:
    body = await request.body()
    return await run_in_threadpool(_receive, request, name, path, body)


def _receive(request: Request, name: str | None, path: str | None, body: bytes) -> Response:
    services: Services = request.app.state.services
    channel = _channel(services, name, path)
    token = channel.opts.callback_token() if channel is not None else None
    if not token:
        return NOT_CONFIGURED
    q = request.query_params
    opts = channel.opts
    if not _fresh(q.get("timestamp", "")):
        log.warning("wechat callback refused", channel=channel.name, reason="stale timestamp")
        return FORBIDDEN
    try:
        if q.get("encrypt_type") == "aes":
            aes_key = opts.callback_aes_key()
            if not aes_key:
                return FORBIDDEN
            crypto = WeChatCrypto(token, aes_key, opts.appid)
            xml = crypto.decrypt_message(
                body, q.get("msg_signature", ""), q.get("timestamp", ""), q.get("nonce", "")
            )
        else:
            check_signature(token, q.get("signature", ""), q.get("timestamp", ""), q.get("nonce", ""))
            xml = body.decode("utf-8")
    except (InvalidSignatureException, InvalidAppIdException, KeyError, ValueError):
        log.warning("wechat callback refused", channel=channel.name, reason="signature")
        return FORBIDDEN
    handled = _record(request, services, channel, parse_message(xml))
    log.info("wechat callback", channel=channel.name, account=channel.code, handled=handled)
    return PlainTextResponse("success")


def _fresh(timestamp: str) -> bool:
    """A signature in plain mode covers only token, timestamp and nonce, not the body: a
    captured one is only good for ``MAX_SKEW`` seconds."""
    try:
        return abs(time.time() - int(timestamp)) <= MAX_SKEW
    except ValueError:
        return False


def _record(request: Request, services: Services, channel: Any, message: Any) -> str:
    """Keep the job's result once (in the account's records) and wake its deliveries;
    answers what was done."""
    now = services.clock()
    if isinstance(message, PublishJobFinishEvent):
        status, result = publish_result(dict(message.info or {}))
        kind, job_id, label = "publish", str((message.info or {}).get("publish_id", "")), str(status)
    elif isinstance(message, MassSendJobFinishEvent):
        kind, job_id = "broadcast", str(message.id)
        label, result = mass_status(str(message.status or "")), mass_event_result(message._data)
    else:
        return "ignored"
    if not job_id or not channel.records.record_outcome(kind, job_id, label, result, "callback", now):
        return "duplicate"
    woken = services.deliveries.wake(channel.records.deliveries_of(kind, job_id), now)
    if woken:
        request.app.state.enqueue([(d, channel.name) for d in woken])
    return f"{kind} {job_id} {label}; woke {len(woken)}"
