"""Weibo on loopback, for tests, the demo and ``govpub sandbox weibo``: the parts of the
open API the channel uses, behaving as documented, with planned misbehaviour.

- ``/oauth2/authorize`` (an operator authorises: the page shows the code),
  ``/oauth2/access_token`` (``authorization_code`` and, when ``allow_refresh``,
  ``refresh_token``, rotating the refresh token), ``/oauth2/get_token_info``; tokens
  expire after ``token_seconds`` of the sandbox's clock (21327), unknown ones are 21332;
- ``/2/statuses/share.json``: text within 140 (20012), a link under the app's safe
  domain (10017), no repeat of a live post's text (20019), posts per account and hour
  (10023, HTTP 403), a JPEG/PNG/GIF ``pic`` (20005);
- ``/2/statuses/destroy.json`` (20101 gone, 20102 not yours), ``/2/statuses/user_timeline.json``;
- the operator's view: ``/sandbox`` (HTML), ``/sandbox/record`` (JSON: posts, calls,
  token grants), ``/status/{id}``; ``POST /sandbox/control`` with ``{"faults": [...]}``
  (``{"path", "error_code" | "http_status" | "lose_answer", "times"}``),
  ``{"advance": seconds}`` (the clock), ``{"expire": true}`` (every token),
  ``{"authorize": uid}`` (a new token for an account), or settings by name.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from channels.kit.sandbox import in_background, until_interrupted
from channels.weibo.compose import LIMIT, weibo_length

ERRORS = {
    10017: (400, "text not find domain!"),
    10022: (403, "IP requests out of rate limit!"),
    10023: (403, "User requests out of rate limit!"),
    20005: (400, "Unsupported image type, only suport JPG, GIF, PNG!"),
    20008: (400, "Content is null!"),
    20012: (400, "Text too long, please input text less than 140 characters!"),
    20019: (400, "Repeat content!"),
    20101: (400, "Target weibo does not exist!"),
    20102: (400, "Not your own weibo!"),
    21324: (400, "invalid_client"),
    21325: (400, "invalid_grant"),
    21327: (401, "expired_token"),
    21332: (401, "invalid_access_token"),
}
MAGIC = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG": "image/png", b"GIF8": "image/gif"}


class Refused(Exception):
    def __init__(self, code: int, message: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.status, default = ERRORS.get(code, (400, f"sandbox error {code}"))
        self.message = message or default


@dataclass
class Config:
    app_key: str = "3725600001"
    app_secret: str = "sandbox-app-secret"
    safe_domain: str = "127.0.0.1"
    uid: str = "6001001001"  # the account the starting token is for
    access_token: str = field(default_factory=lambda: "2.00" + secrets.token_hex(12))
    token_seconds: float = 157_680_000.0  # Weibo's default for a developer's own app: years
    hourly_limit: int = 30
    allow_refresh: bool = True


@dataclass
class Weibo:
    config: Config
    lock: threading.Lock = field(default_factory=threading.Lock)
    offset: float = 0.0
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    refresh: dict[str, str] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)
    posts: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)
    grants: list[dict[str, Any]] = field(default_factory=list)
    faults: list[dict[str, Any]] = field(default_factory=list)
    next_id: int = 4_900_000_000_000_001

    def __post_init__(self) -> None:
        self.issue(self.config.uid, self.config.access_token, with_refresh=False)

    def now(self) -> float:
        return time.time() + self.offset

    def issue(self, uid: str, token: str | None = None, *, with_refresh: bool = True) -> dict[str, Any]:
        token = token or "2.00" + secrets.token_hex(12)
        self.tokens[token] = {
            "uid": uid,
            "created": self.now(),
            "expires": self.now() + self.config.token_seconds,
        }
        answer: dict[str, Any] = {
            "access_token": token,
            "expires_in": int(self.config.token_seconds),
            "remind_in": str(int(self.config.token_seconds)),
            "uid": uid,
        }
        if with_refresh and self.config.allow_refresh:
            rt = "rt." + secrets.token_hex(12)
            self.refresh[rt] = uid
            answer["refresh_token"] = rt
        return answer

    def user_of(self, token: str) -> str:
        held = self.tokens.get(token)
        if held is None:
            raise Refused(21332)
        if held["expires"] <= self.now():
            raise Refused(21327)
        return str(held["uid"])

    # -- OAuth2 -------------------------------------------------------------------
    def access_token(self, form: dict[str, str]) -> dict[str, Any]:
        if (
            form.get("client_id") != self.config.app_key
            or form.get("client_secret") != self.config.app_secret
        ):
            raise Refused(21324)
        grant = form.get("grant_type")
        if grant == "authorization_code":
            uid = self.codes.pop(form.get("code", ""), None)
        elif grant == "refresh_token" and self.config.allow_refresh:
            uid = self.refresh.pop(form.get("refresh_token", ""), None)  # rotated: used once
        else:
            raise Refused(21325, "unsupported_grant_type")
        if uid is None:
            raise Refused(21325)
        answer = self.issue(uid)
        self.grants.append({"grant_type": grant, "uid": uid, "at": self.now()})
        return answer

    def token_info(self, token: str) -> dict[str, Any]:
        uid = self.user_of(token)
        held = self.tokens[token]
        return {
            "uid": uid,
            "appkey": self.config.app_key,
            "scope": "all",
            "create_at": int(held["created"]),
            "expire_in": int(held["expires"] - self.now()),
        }

    # -- statuses -----------------------------------------------------------------
    def share(self, uid: str, text: str, pic: bytes | None) -> dict[str, Any]:
        if not text.strip():
            raise Refused(20008)
        if weibo_length(text) > LIMIT:
            raise Refused(20012)
        if f"//{self.config.safe_domain}" not in text and f".{self.config.safe_domain}" not in text:
            raise Refused(10017)
        live = [p for p in self.posts.values() if p["uid"] == uid and not p["deleted"]]
        if any(p["text"] == text for p in live):
            raise Refused(20019)
        hour = [p for p in self.posts.values() if p["uid"] == uid and p["at"] > self.now() - 3600]
        if len(hour) >= self.config.hourly_limit:
            raise Refused(10023)
        picture = None
        if pic is not None:
            kind = next((t for m, t in MAGIC.items() if pic.startswith(m)), None)
            if kind is None:
                raise Refused(20005)
            picture = {"type": kind, "size": len(pic), "sha256": hashlib.sha256(pic).hexdigest()}
        post_id = str(self.next_id)
        self.next_id += 1
        self.posts[post_id] = {
            "id": post_id,
            "uid": uid,
            "text": text,
            "at": self.now(),
            "deleted": False,
            "picture": picture,
        }
        return self.status(post_id)

    def status(self, post_id: str) -> dict[str, Any]:
        p = self.posts[post_id]
        created = time.strftime("%a %b %d %H:%M:%S +0800 %Y", time.gmtime(p["at"] + 8 * 3600))
        status = {
            "id": int(post_id),
            "idstr": post_id,
            "mid": post_id,
            "text": p["text"],
            "created_at": created,
            "user": {"id": int(p["uid"]), "idstr": p["uid"]},
        }
        if p["picture"]:
            status["original_pic"] = f"/sandbox/pictures/{p['picture']['sha256']}"
        return status

    def destroy(self, uid: str, post_id: str) -> dict[str, Any]:
        p = self.posts.get(post_id)
        if p is None or p["deleted"]:
            raise Refused(20101)
        if p["uid"] != uid:
            raise Refused(20102)
        p["deleted"] = True
        p["deleted_at"] = self.now()
        return self.status(post_id)

    def timeline(self, uid: str, count: int) -> dict[str, Any]:
        mine = sorted(
            (p for p in self.posts.values() if p["uid"] == uid and not p["deleted"]),
            key=lambda p: p["at"],
            reverse=True,
        )
        return {"statuses": [self.status(p["id"]) for p in mine[:count]], "total_number": len(mine)}

    def fault(self, path: str) -> dict[str, Any] | None:
        for planned in self.faults:
            if planned.get("path") in (path, "*") and int(planned.get("times", 1)) > 0:
                planned["times"] = int(planned.get("times", 1)) - 1
                return planned
        return None

    def record(self) -> dict[str, Any]:
        return {
            "posts": list(self.posts.values()),
            "live": [p for p in self.posts.values() if not p["deleted"]],
            "calls": self.calls,
            "grants": self.grants,
            "app_key": self.config.app_key,
            "safe_domain": self.config.safe_domain,
        }


class Handler(BaseHTTPRequestHandler):
    server: SandboxServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet in tests
        pass

    @property
    def weibo(self) -> Weibo:
        return self.server.weibo

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/sandbox/record":
            with self.weibo.lock:
                self._json(self.weibo.record())
        elif url.path in ("/sandbox", "/sandbox/"):
            self._page()
        elif url.path.startswith("/status/"):
            self._status_page(url.path.removeprefix("/status/"))
        elif url.path == "/oauth2/authorize":
            self._authorize(query)
        elif url.path.startswith("/2/"):
            self._api(url.path.removeprefix("/2/"), query)
        else:
            self._json({"error": "not found"}, 404)

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if url.path == "/sandbox/control":
            self._control(json.loads(raw or b"{}"))
            return
        form, pic = self._form(raw)
        if url.path.startswith("/oauth2/"):
            self._oauth(url.path.removeprefix("/oauth2/"), form)
        elif url.path.startswith("/2/"):
            self._api(url.path.removeprefix("/2/"), form, pic)
        else:
            self._json({"error": "not found"}, 404)

    # -- the API ------------------------------------------------------------------
    def _api(self, path: str, form: dict[str, str], pic: bytes | None = None) -> None:
        w = self.weibo
        lose = False
        try:
            with w.lock:
                token = form.get("access_token", "")
                w.calls.append({"path": path, "token": token, "at": w.now()})
                fault = w.fault(path)
                if fault and fault.get("http_status"):
                    self._json({"error": "sandbox fault"}, int(fault["http_status"]))
                    return
                if fault and fault.get("error_code"):
                    raise Refused(int(fault["error_code"]), str(fault.get("message") or ""))
                lose = bool(fault and fault.get("lose_answer"))
                uid = w.user_of(token)
                if path == "statuses/share.json":
                    answer = w.share(uid, form.get("status", ""), pic)
                elif path == "statuses/destroy.json":
                    answer = w.destroy(uid, form.get("id", ""))
                elif path == "statuses/user_timeline.json":
                    answer = w.timeline(uid, int(form.get("count", "20")))
                else:
                    raise Refused(10020, "Request api not found!")
        except Refused as exc:
            self._error(exc, "/2/" + path)
            return
        if lose:  # done, but the answer never arrives intact
            self._json({"error": "bad gateway"}, 502)
            return
        self._json(answer)

    def _oauth(self, path: str, form: dict[str, str]) -> None:
        w = self.weibo
        try:
            with w.lock:
                if path == "access_token":
                    answer = w.access_token(form)
                elif path == "get_token_info":
                    answer = w.token_info(form.get("access_token", ""))
                else:
                    raise Refused(10020, "Request api not found!")
        except Refused as exc:
            self._error(exc, "/oauth2/" + path)
            return
        self._json(answer)

    def _authorize(self, query: dict[str, str]) -> None:
        """The operator authorises the app on the account: the page shows the code to
        exchange at ``/oauth2/access_token`` (the real page redirects with it)."""
        if query.get("client_id") != self.weibo.config.app_key:
            self._error(Refused(21324), "/oauth2/authorize")
            return
        code = secrets.token_hex(8)
        with self.weibo.lock:
            self.weibo.codes[code] = query.get("uid") or self.weibo.config.uid
        page = (
            f"<!doctype html><meta charset='utf-8'><title>授权</title><p>授权码 code: <code>{code}</code></p>"
        )
        self._send(200, page.encode(), "text/html; charset=utf-8")

    # -- control and views --------------------------------------------------------
    def _control(self, body: dict[str, Any]) -> None:
        w = self.weibo
        answer: dict[str, Any] = {"ok": True}
        with w.lock:
            w.faults.extend(body.pop("faults", []))
            w.offset += float(body.pop("advance", 0))
            if body.pop("expire", False):
                for held in w.tokens.values():
                    held["expires"] = w.now()
            uid = body.pop("authorize", None)
            if uid is not None:
                answer = w.issue(str(uid))
            for key, value in body.items():
                if not hasattr(w.config, key):
                    self._json({"error": f"unknown setting {key}"}, 400)
                    return
                setattr(w.config, key, value)
        self._json(answer)

    def _page(self) -> None:
        with self.weibo.lock:
            posts = sorted(self.weibo.posts.values(), key=lambda p: p["at"], reverse=True)
        rows = "".join(
            f"<tr><td><a href='/status/{p['id']}'>{p['id']}</a></td><td>{escape(p['uid'])}</td>"
            f"<td>{escape(p['text'])}</td><td>{'图片' if p['picture'] else ''}</td>"
            f"<td>{'已删除' if p['deleted'] else '可见'}</td></tr>"
            for p in posts
        )
        page = (
            "<!doctype html><meta charset='utf-8'><title>微博沙盒</title><h1>微博沙盒：帖子</h1>"
            "<table border=1><tr><th>id</th><th>uid</th><th>正文</th><th>配图</th><th>状态</th></tr>"
            f"{rows}</table>"
        )
        self._send(200, page.encode(), "text/html; charset=utf-8")

    def _status_page(self, post_id: str) -> None:
        with self.weibo.lock:
            p = self.weibo.posts.get(post_id)
        if p is None or p["deleted"]:
            self._send(404, "<p>该微博已被删除</p>".encode(), "text/html; charset=utf-8")
            return
        page = f"<!doctype html><meta charset='utf-8'><title>微博</title><p>{escape(p['text'])}</p>"
        self._send(200, page.encode(), "text/html; charset=utf-8")

    # -- plumbing -----------------------------------------------------------------
    def _form(self, raw: bytes) -> tuple[dict[str, str], bytes | None]:
        kind = self.headers.get("Content-Type", "")
        if kind.startswith("multipart/"):
            message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {kind}\r\n\r\n".encode() + raw)
            form: dict[str, str] = {}
            pic = None
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                data = part.get_payload(decode=True)
                data = data if isinstance(data, bytes) else b""
                if name == "pic":
                    pic = data
                elif isinstance(name, str):
                    form[name] = data.decode("utf-8")
            return form, pic
        return {k: v[0] for k, v in parse_qs(raw.decode("utf-8")).items()}, None

    def _error(self, exc: Refused, request: str) -> None:
        self._json({"error": exc.message, "error_code": exc.code, "request": request}, exc.status)

    def _json(self, body: Any, status: int = 200) -> None:
        self._send(status, json.dumps(body, ensure_ascii=False).encode(), "application/json; charset=utf-8")

    def _send(self, status: int, data: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, port: int, config: Config | None = None) -> None:
        super().__init__((host, port), Handler)
        self.weibo = Weibo(config or Config())
        self.base_url = f"http://{host}:{self.server_address[1]}"

    @property
    def api_base_url(self) -> str:
        return self.base_url + "/2/"

    @property
    def oauth_base_url(self) -> str:
        return self.base_url + "/oauth2/"


def start(host: str = "127.0.0.1", port: int = 0, config: Config | None = None) -> SandboxServer:
    """A sandbox serving in a background thread (tests, the demo); ``shutdown()`` ends it."""
    return in_background(SandboxServer(host, port, config), "weibo-sandbox")


def serve(host: str, port: int, config: Config) -> None:
    until_interrupted(SandboxServer(host, port, config))
