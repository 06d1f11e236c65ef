"""A mail relay on loopback for tests, the demo and ``govpub sandbox email``: a real
SMTP server (aiosmtpd) with STARTTLS or SMTPS and AUTH, that records every message it
accepts and shows them over HTTP (``GET /messages`` as JSON, ``GET /`` as a page).

It misbehaves when told (``POST /control`` with a plan, as the other sandboxes) or by
address: ``nobody…@`` is refused 550 (no such mailbox: a bounce), ``busy…@`` deferred
451. Counters: ``refuse`` (next RCPTs answered 550), ``defer`` (451), ``defer_data``
(next messages answered 451 after DATA), ``crawl`` (next messages answered only after
``crawl_seconds``)."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import threading
import warnings
from dataclasses import asdict, dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from channels.kit.sandbox import in_background, replan, use_up

from .certs import self_signed

# SMTPS is TLS from the first byte, which aiosmtpd's check (STARTTLS only) does not see
warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS", UserWarning, "aiosmtpd")

USERNAME = "sandbox"
PASSWORD = "sandbox-password"


@dataclass
class Plan:
    refuse: int = 0
    defer: int = 0
    defer_data: int = 0
    crawl: int = 0
    crawl_seconds: float = 5.0


@dataclass
class Mailbox:
    """What the relay holds: accepted messages, in order, and its plan."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    plan: Plan = field(default_factory=Plan)
    logins: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, envelope: Envelope, session: Session, tls: bool) -> dict[str, Any]:
        raw = envelope.original_content or b""
        parsed: EmailMessage = message_from_bytes(raw, policy=policy.default)
        text = parsed.get_body(("plain",))
        entry = {
            "mail_from": envelope.mail_from,
            "to": list(envelope.rcpt_tos),
            "message_id": parsed["Message-ID"],
            "subject": parsed["Subject"],
            "headers": {k: str(v) for k, v in parsed.items()},
            "text": text.get_content() if text is not None else "",
            "tls": tls,
            "authenticated": bool(session.authenticated),
        }
        with self.lock:
            entry["n"] = len(self.messages) + 1
            self.messages.append(entry)
        return entry

    def snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(m) for m in self.messages]


class Relay:
    """aiosmtpd's handler: refuses, defers and crawls as planned, records the rest."""

    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        local = address.partition("@")[0].lower()
        if local.startswith("nobody") or use_up(self.box.plan, "refuse", self.box.lock):
            return "550 5.1.1 no such mailbox here"
        if local.startswith("busy") or use_up(self.box.plan, "defer", self.box.lock):
            return "451 4.3.0 mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if use_up(self.box.plan, "crawl", self.box.lock):
            await asyncio.sleep(self.box.plan.crawl_seconds)
        if use_up(self.box.plan, "defer_data", self.box.lock):
            return "451 4.3.0 queue full, try again later"
        tls = server.transport is not None and server.transport.get_extra_info("sslcontext") is not None
        entry = self.box.record(envelope, session, tls or session.ssl is not None)
        return f"250 2.0.0 queued as {entry['n']}"


def _authenticator(box: Mailbox) -> Any:
    def check(server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login == USERNAME.encode()
            and data.password == PASSWORD.encode()
        )
        if ok:
            with box.lock:
                box.logins += 1
        return AuthResult(success=ok, handled=False)

    return check


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class MailSandbox:
    box: Mailbox
    smtp_port: int
    http_port: int
    security: str
    cert_file: Path
    controller: Controller
    web: ThreadingHTTPServer

    @property
    def view_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def options(self, **more: Any) -> dict[str, Any]:
        """Channel options pointing at this relay (the password in GOVPUB_EMAIL_SMTP_PASSWORD
        unless ``password_file`` is given); a None in ``more`` leaves that option out."""
        found = {
            "smtp_host": "127.0.0.1",
            "smtp_port": self.smtp_port,
            "security": self.security,
            "tls_ca_file": str(self.cert_file),
            "username": USERNAME,
            "password_env": "GOVPUB_EMAIL_SMTP_PASSWORD",
            **more,
        }
        return {key: value for key, value in found.items() if value is not None}

    def control(self, **changes: Any) -> None:
        self.box.plan = replan(self.box.plan, changes, self.box.lock)

    def stop(self) -> None:
        self.web.shutdown()
        self.web.server_close()
        self.controller.stop()


def start(folder: Path, *, security: str = "starttls", smtp_port: int = 0, http_port: int = 0) -> MailSandbox:
    """The relay and its HTTP view on 127.0.0.1, in background threads."""
    box = Mailbox()
    cert, key = self_signed(folder)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    port = smtp_port or free_port()
    smtp_kwargs: dict[str, Any] = dict(
        authenticator=_authenticator(box),
        auth_required=security != "none",  # plain: offered, not required (loopback only)
        auth_require_tls=security == "starttls",  # SMTPS: TLS from the start
    )
    if security == "starttls":
        smtp_kwargs.update(tls_context=context, require_starttls=True)
    controller = Controller(
        Relay(box),
        hostname="127.0.0.1",
        port=port,
        ssl_context=context if security == "ssl" else None,
        **smtp_kwargs,
    )
    controller.start()
    web = in_background(ThreadingHTTPServer(("127.0.0.1", http_port), _view(box)), "mail-sandbox-view")
    return MailSandbox(box, port, web.server_address[1], security, cert, controller, web)


def _view(box: Mailbox) -> type[BaseHTTPRequestHandler]:
    class View(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            if self.path.startswith("/messages"):
                self._answer(200, "application/json", json.dumps(box.snapshot(), ensure_ascii=False))
            elif self.path == "/control":
                self._answer(200, "application/json", json.dumps(asdict(box.plan)))
            else:
                rows = "".join(
                    f"<tr><td>{m['n']}</td><td>{escape(', '.join(m['to']))}</td>"
                    f"<td>{escape(str(m['subject']))}</td>"
                    f"<td><code>{escape(str(m['message_id']))}</code></td></tr>"
                    for m in reversed(box.snapshot())
                )
                page = (
                    '<!doctype html><meta charset="utf-8"><title>邮件沙箱</title>'
                    "<h1>邮件沙箱：已收到的邮件</h1><table border=1>"
                    f"<tr><th>#</th><th>收件人</th><th>主题</th><th>Message-ID</th></tr>{rows}</table>"
                )
                self._answer(200, "text/html; charset=utf-8", page)

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            try:
                changes = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                self._answer(400, "text/plain", "a JSON object")
                return
            if self.path == "/control" and isinstance(changes, dict):
                box.plan = replan(box.plan, changes, box.lock)
                self._answer(200, "application/json", json.dumps(asdict(box.plan)))
            elif self.path == "/clear":
                with box.lock:
                    box.messages.clear()
                self._answer(200, "application/json", "{}")
            else:
                self._answer(404, "text/plain", "POST /control or /clear")

        def _answer(self, status: int, media: str, body: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("content-type", media)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return View
