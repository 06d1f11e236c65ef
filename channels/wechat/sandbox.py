"""``govpub sandbox wechat``: a WeChat official-account API on loopback.

Point a ``wechat`` channel's ``api_base_url`` at ``http://127.0.0.1:PORT/cgi-bin/``.
One sandbox may serve several accounts (``--appid`` repeated; platform mode), each with
its own tokens, quotas, drafts, publications and record: a token request names its
appid, an API call is the account whose token it carries, and a control path takes
``?appid=`` (default: the first account).
The API paths answer as WeChat does (:mod:`.wechat_account`); the control paths
under ``/sandbox/`` are for tests and demos:

    GET  /sandbox/record         everything received, published, sent, deleted (JSON), of
                                 the account ``?appid=`` names (default: the first)
    GET  /sandbox/accounts       the appids served
    POST /sandbox/faults         {"path": "freepublish/submit" | "*", "errcode": -1 | 45009 | …,
                                  "errmsg": …, "answer": {more fields, e.g. "msg_id"},
                                  "http_status": 503, "delay": 2.0,
                                  "after": true (answer late, after the work), "times": 1}
    POST /sandbox/review         {"status": 4, "fail_idx": [1]}: the next publication fails review
    POST /sandbox/tokens         {"action": "expire"} (42001 next) | {"action": "rotate"}
                                 (another system fetched a token: 40001 after the grace period)
    POST /sandbox/config         callback_url, callback_token, encoding_aes_key, account_type,
                                 certified, publish_delay, token_ttl, grace,
                                 denied_apis (["freepublish/batchget"]: 48001 for those),
                                 daily_limits ({"draft/add": 3}: 45009 until midnight China
                                 time), mass_delay, mass_result ("send fail", "err(40002)")

The API is strict where WeChat is: ``message/mass/get`` takes ``msg_id`` as a string of
digits and ``message/mass/delete`` as a number (40059 otherwise, and for an unknown one);
``message/mass/preview`` puts a draft on one phone (``towxname`` or ``touser``); a
repeated ``clientmsgid`` within 24 h is 45065 naming the first ``msg_id``; a mass send
ends with ``MASSSENDJOBFINISH`` to the callback URL.
    POST /sandbox/clock          {"advance": seconds}: move the sandbox's day (quota windows)
    POST /sandbox/finish_mass    {"msg_id": …}: the mass send finishes now (MASSSENDJOBFINISH)
    GET  /sandbox/picture.png    an image on a foreign host, for body-image tests
    GET  /s/{article_id}         a published article, as a follower would open it
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Sequence
from email.parser import BytesParser
from email.policy import HTTP
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from channels.kit.sandbox import in_background, until_interrupted
from channels.wechat.sandbox_account import Account, ApiError, Config

JSON_API = {
    "draft/add",
    "draft/get",
    "draft/delete",
    "freepublish/submit",
    "freepublish/get",
    "freepublish/delete",
    "freepublish/batchget",
    "message/mass/sendall",
    "message/mass/get",
    "message/mass/delete",
    "message/mass/preview",
    "openapi/quota/get",
}


def picture() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 200)).save(out, "PNG")
    return out.getvalue()


class Handler(BaseHTTPRequestHandler):
    server: SandboxServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the record is the log
        return

    routed: Account | None = None

    @property
    def account(self) -> Account:
        """The account this request is for (see :meth:`SandboxServer.by_token`)."""
        return self.routed or self.server.account

    # -- plumbing -----------------------------------------------------------------
    def _send(self, status: int, body: bytes, ctype: str = "application/json; charset=utf-8") -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the caller gave up (a "lost answer" fault)
            self.close_connection = True

    def _json(self, data: Any, status: int = 200) -> None:
        self._send(status, json.dumps(data, ensure_ascii=False).encode())

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.routed = self.server.by_appid(query.get("appid", "")) or self.server.by_token(
            query.get("access_token", "")
        )
        if url.path.startswith(("/s/", "/mmbiz/")):
            self.routed = self.server.holding(url.path)
        if url.path == "/sandbox/accounts":
            self._json(sorted(self.server.accounts))
        elif url.path == "/sandbox/record":
            self._json(self.account.snapshot())
        elif url.path == "/sandbox/picture.png":
            self._send(200, self.server.picture, "image/png")
        elif url.path.startswith("/mmbiz/") and url.path[7:] in self.account.files:
            self._send(200, self.account.files[url.path[7:]], "image/" + url.path.rsplit(".", 1)[-1])
        elif url.path.startswith("/s/"):
            self._article(url.path[3:], int(query.get("idx", "1")))
        elif url.path == "/cgi-bin/token":
            self._api(
                "token", lambda: self.account.fetch_token(query.get("appid", ""), query.get("secret", ""))
            )
        else:
            self._json({"errcode": 404, "errmsg": f"no such path {url.path}"}, 404)

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        raw = self._body()
        self.routed = self.server.by_appid(query.get("appid", "")) or self.server.by_token(
            query.get("access_token", "")
        )
        if url.path.startswith("/sandbox/"):
            self._control(url.path.removeprefix("/sandbox/"), json.loads(raw or b"{}"))
            return
        path = url.path.removeprefix("/cgi-bin/")
        if path == "stable_token":
            body = json.loads(raw or b"{}")
            self.routed = self.server.by_appid(str(body.get("appid", ""))) or self.routed
            self._api(
                path,
                lambda: self.account.fetch_token(
                    body.get("appid", ""),
                    body.get("secret", ""),
                    stable=True,
                    force=bool(body.get("force_refresh")),
                ),
            )
            return
        self._api(path, lambda: self._call(path, query, raw), token=query.get("access_token", ""))

    # -- the API ------------------------------------------------------------------
    def _api(self, path: str, work: Any, token: str | None = None) -> None:
        fault = self.account.take_fault(path)
        after = bool(fault and fault.get("after"))
        if fault and fault.get("delay") and not after:
            time.sleep(float(fault["delay"]))
        try:
            if fault and fault.get("http_status"):
                self._send(int(fault["http_status"]), b"<html>sandbox fault</html>", "text/html")
                return
            if fault and "errcode" in fault:
                code = int(fault["errcode"])
                raise ApiError(
                    code, str(fault.get("errmsg") or _default_errmsg(code)), **fault.get("answer", {})
                )
            if token is not None:
                self.account.check_token(path, token)
                self.account.count_daily(path)
            answer = {"errcode": 0, "errmsg": "ok", **work()}
        except ApiError as exc:
            answer = {"errcode": exc.errcode, "errmsg": exc.errmsg, **exc.extra}
        except (KeyError, ValueError, TypeError) as exc:
            answer = {"errcode": 40097, "errmsg": f"invalid args: {exc}"}
        if after:
            time.sleep(float(fault.get("delay", 0)))  # type: ignore[union-attr]
        self._json(answer)

    def _call(self, path: str, query: dict[str, str], raw: bytes) -> dict[str, Any]:
        acc = self.account
        if path == "media/uploadimg":
            data, name = self._upload(raw)
            return acc.upload_image(data, name)
        if path == "material/add_material":
            data, _ = self._upload(raw)
            return acc.add_material(query.get("type", ""), data)
        if path not in JSON_API:
            raise ApiError(48001, f"the sandbox does not offer {path}")
        if path in acc.config.denied_apis:
            raise ApiError(48001, "api unauthorized")
        body = json.loads(raw or b"{}")
        calls = {
            "draft/add": lambda: acc.draft_add(raw, body),
            "draft/get": lambda: acc.draft_get(str(body["media_id"])),
            "draft/delete": lambda: acc.draft_delete(str(body["media_id"])),
            "freepublish/submit": lambda: acc.submit(str(body["media_id"])),
            "freepublish/get": lambda: acc.publish_status(str(body["publish_id"])),
            "freepublish/delete": lambda: acc.delete_article(
                str(body["article_id"]), int(body.get("index", 0))
            ),
            "freepublish/batchget": lambda: acc.batchget(
                int(body.get("offset", 0)), int(body.get("count", 20))
            ),
            "message/mass/sendall": lambda: acc.sendall(body),
            "message/mass/get": lambda: acc.mass_get(body["msg_id"]),
            "message/mass/delete": lambda: acc.mass_delete(body["msg_id"], int(body.get("article_idx", 0))),
            "message/mass/preview": lambda: acc.mass_preview(body),
            "openapi/quota/get": lambda: acc.quota_get(str(body["cgi_path"])),
        }
        result: dict[str, Any] = calls[path]()
        return result

    def _upload(self, raw: bytes) -> tuple[bytes, str]:
        """The multipart field ``media`` (WeChat's name for the file)."""
        head = f"Content-Type: {self.headers.get('Content-Type', '')}\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(head + raw)
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == "media":
                data = part.get_payload(decode=True)
                return (data if isinstance(data, bytes) else b""), part.get_filename() or "media"
        raise ApiError(41005, "media data missing")

    # -- control ------------------------------------------------------------------
    def _control(self, what: str, body: dict[str, Any]) -> None:
        acc = self.account
        if what == "faults":
            acc.add_fault(body)
        elif what == "review":
            with acc.lock:
                acc.reviews.append(body)
        elif what == "tokens":
            acc.expire_tokens() if body.get("action") == "expire" else acc.rotate_token()
        elif what == "config":
            with acc.lock:
                for key, value in body.items():
                    if not hasattr(acc.config, key):
                        self._json({"error": f"unknown setting {key}"}, 400)
                        return
                    setattr(acc.config, key, value)
        elif what == "finish_mass":  # WeChat finishes a mass send now (MASSSENDJOBFINISH)
            if str(body.get("msg_id")) not in acc.masses:
                self._json({"error": f"no mass send {body.get('msg_id')}"}, 404)
                return
            acc.finish_mass(str(body["msg_id"]))
        elif what == "clock":
            with acc.lock:
                acc.offset += float(body.get("advance", 0))
        else:
            self._json({"error": f"unknown control {what}"}, 404)
            return
        self._json({"ok": True})

    def _article(self, article_id: str, idx: int) -> None:
        with self.account.lock:
            art = self.account.articles.get(article_id)
            if art is None or idx in art["deleted"] or not 1 <= idx <= len(art["articles"]):
                self._send(404, "<p>该内容已被发布者删除</p>".encode(), "text/html; charset=utf-8")
                return
            a = art["articles"][idx - 1]
        page = (
            f"<!doctype html><meta charset='utf-8'><title>{escape(a['title'])}</title>"
            f"<h1>{escape(a['title'])}</h1><p>{escape(a.get('author', ''))}</p>{a['content']}"
            f"<p><a href='{escape(a.get('content_source_url', ''), quote=True)}'>阅读原文</a></p>"
        )
        self._send(200, page.encode(), "text/html; charset=utf-8")


def _default_errmsg(code: int) -> str:
    return {
        -1: "system error",
        40164: "invalid ip 203.0.113.7 ipv6 ::ffff:203.0.113.7, not in whitelist rid: 6650a6f2-sandbox",
        45009: "reach max api daily quota limit",
        45011: "api minute-quota reach limit  mustslower  retry next minute",
        48001: "api unauthorized",
        53503: "该草稿未通过发布检查",
    }.get(code, f"sandbox fault {code}")


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, host: str, port: int, config: Config | None = None, others: Sequence[Config] = ()
    ) -> None:
        super().__init__((host, port), Handler)
        base = f"http://{host}:{self.server_address[1]}"
        self.account = Account(config=config or Config(), base_url=base)
        self.accounts = {self.account.config.appid: self.account}
        for other in others:
            if other.appid in self.accounts:
                raise ValueError(f"appid {other.appid} given twice")
            self.accounts[other.appid] = Account(config=other, base_url=base)
        self.picture = picture()

    def by_appid(self, appid: str) -> Account | None:
        return self.accounts.get(appid)

    def by_token(self, token: str) -> Account | None:
        """The account that issued ``token`` (an unknown one: the first, which says 40014)."""
        if token:
            for account in self.accounts.values():
                with account.lock:
                    if token in account.tokens:
                        return account
        return None

    def holding(self, path: str) -> Account | None:
        """The account an article (``/s/ID``) or an uploaded file (``/mmbiz/NAME``) is on."""
        key = path.split("/", 2)[2] if path.count("/") >= 2 else ""
        for account in self.accounts.values():
            if key in account.articles or key in account.files:
                return account
        return None

    @property
    def base_url(self) -> str:
        return self.account.base_url

    @property
    def api_base_url(self) -> str:
        return self.account.base_url + "/cgi-bin/"


def start(
    host: str = "127.0.0.1", port: int = 0, config: Config | None = None, others: Sequence[Config] = ()
) -> SandboxServer:
    """A sandbox serving in a background thread (tests, the demo); ``shutdown()`` ends it.
    ``others``: more accounts beside ``config``'s."""
    server = SandboxServer(host, port, config, others)
    return in_background(server, "wechat-sandbox")


def serve(host: str, port: int, config: Config, others: Sequence[Config] = ()) -> None:
    """``govpub sandbox wechat``: serve until interrupted."""
    until_interrupted(SandboxServer(host, port, config, others))
