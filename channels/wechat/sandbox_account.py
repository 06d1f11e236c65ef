"""The WeChat sandbox's account: what the real API does, as shared/domain/wechat.md says.

Tokens (7200 s; a new fetch invalidates the old after a grace period), drafts with
WeChat's content limits, asynchronous publication with ``publish_status`` and a
signed callback, mass sends with the account's quota and ``clientmsgid``, image
uploads, deletions. Everything it receives and publishes is kept in ``record`` for
tests; faults are injected through :meth:`Account.add_fault`.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")
LIMITS = {"title": (32, 45003), "author": (16, 45110), "digest": (128, 45004)}
ESCAPED = re.compile(rb"\\u[0-9a-fA-F]{4}")
SCRIPT = re.compile(r"<script\b.*?</script\s*>", re.IGNORECASE | re.DOTALL)
IMG_SRC = re.compile(r'(<img\b[^>]*?\bsrc=")([^"]*)(")', re.IGNORECASE)


class ApiError(Exception):
    def __init__(self, errcode: int, errmsg: str, **extra: Any) -> None:
        super().__init__(errmsg)
        self.errcode, self.errmsg, self.extra = errcode, errmsg, extra


@dataclass
class Config:
    appid: str = "wxsandbox0000001"
    secret: str = "sandbox-secret"
    account_type: str = "subscription"
    certified: bool = True
    token_ttl: int = 7200
    grace: float = 300.0
    publish_delay: float = 0.2
    callback_url: str = ""
    callback_token: str = ""
    encoding_aes_key: str = ""
    original_id: str = "gh_sandbox00001"
    # APIs this account may not call (48001), e.g. ["freepublish/batchget"]: not every
    # account has every permission (权限集)
    denied_apis: list[str] = field(default_factory=list)
    # calls a China day per API path before 45009, e.g. {"freepublish/submit": 1}; the
    # count starts again at midnight China time (the sandbox clock)
    daily_limits: dict[str, int] = field(default_factory=dict)
    mass_delay: float | None = None  # how long a mass send takes (default: publish_delay)
    # how a mass send ends: MASSSENDJOBFINISH's Status ("send success", "send fail",
    # "err(40002)": the administrator did not confirm in 30 minutes …)
    mass_result: str = "send success"


@dataclass
class Token:
    expires_at: float
    invalid_after: float = float("inf")


@dataclass
class Account:
    config: Config = field(default_factory=Config)
    base_url: str = ""
    offset: float = 0.0  # the sandbox clock, moved by tests (quota windows)
    lock: threading.RLock = field(default_factory=threading.RLock)
    tokens: dict[str, Token] = field(default_factory=dict)
    stable: str = ""
    images: set[str] = field(default_factory=set)
    files: dict[str, bytes] = field(default_factory=dict)
    materials: dict[str, dict[str, Any]] = field(default_factory=dict)
    drafts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    publishes: dict[str, dict[str, Any]] = field(default_factory=dict)
    articles: dict[str, dict[str, Any]] = field(default_factory=dict)
    masses: dict[str, dict[str, Any]] = field(default_factory=dict)
    clientmsgids: dict[str, tuple[str, float]] = field(default_factory=dict)
    faults: list[dict[str, Any]] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    record: dict[str, list[Any]] = field(
        default_factory=lambda: {
            k: []
            for k in (
                "token_fetches",
                "calls",
                "drafts",
                "uploads",
                "submits",
                "published",
                "mass_sends",
                "sendall_calls",
                "mass_gets",
                "previews",
                "deleted",
                "callbacks",
                "faults_used",
            )
        }
    )

    daily_calls: dict[tuple[str, str], int] = field(default_factory=dict)

    def now(self) -> float:
        return time.time() + self.offset

    def count_daily(self, path: str) -> None:
        """45009 once a path's calls of this China day exceed its configured limit."""
        limit = self.config.daily_limits.get(path)
        if limit is None:
            return
        with self.lock:
            day = datetime.fromtimestamp(self.now(), UTC).astimezone(TZ).strftime("%Y-%m-%d")
            used = self.daily_calls.get((path, day), 0)
            if used >= limit:
                raise ApiError(45009, "reach max api daily quota limit")
            self.daily_calls[(path, day)] = used + 1

    def _id(self, prefix: str) -> str:
        return prefix + secrets.token_hex(8)

    # -- faults -------------------------------------------------------------------
    def add_fault(self, fault: dict[str, Any]) -> None:
        with self.lock:
            self.faults.append({"times": 1, "path": "*", **fault})

    def take_fault(self, path: str) -> dict[str, Any] | None:
        with self.lock:
            for fault in self.faults:
                if fault["path"] in ("*", path):
                    fault["times"] -= 1
                    if fault["times"] <= 0:
                        self.faults.remove(fault)
                    self.record["faults_used"].append({"path": path, **fault})
                    return fault
        return None

    # -- tokens -------------------------------------------------------------------
    def _issue(self, now: float) -> str:
        for token in self.tokens.values():  # an older token stops working after the grace period
            token.invalid_after = min(token.invalid_after, now + self.config.grace)
        value = "SBX" + secrets.token_urlsafe(24)
        self.tokens[value] = Token(expires_at=now + self.config.token_ttl)
        return value

    def fetch_token(
        self, appid: str, secret: str, stable: bool = False, force: bool = False
    ) -> dict[str, Any]:
        with self.lock:
            if appid != self.config.appid:
                raise ApiError(40013, "invalid appid")
            if secret != self.config.secret:
                raise ApiError(40125, "invalid appsecret")
            now = self.now()
            self.record["token_fetches"].append({"at": now, "stable": stable, "force": force})
            if stable:
                current = self.tokens.get(self.stable)
                if force or current is None or current.expires_at <= now or current.invalid_after <= now:
                    self.stable = "STB" + secrets.token_urlsafe(24)
                    self.tokens[self.stable] = Token(expires_at=now + self.config.token_ttl)
                value = self.stable
            else:
                value = self._issue(now)
            return {"access_token": value, "expires_in": int(self.tokens[value].expires_at - now)}

    def expire_tokens(self) -> None:
        with self.lock:
            for token in self.tokens.values():
                token.expires_at = min(token.expires_at, self.now() - 1)

    def rotate_token(self) -> None:
        """Another system fetched a token for this account (not through our store)."""
        with self.lock:
            self._issue(self.now())

    def check_token(self, path: str, token: str) -> None:
        with self.lock:
            now = self.now()
            self.record["calls"].append({"path": path, "token": token, "at": now})
            info = self.tokens.get(token)
            if not token:
                raise ApiError(41001, "access_token missing")
            if info is None:
                raise ApiError(40014, "invalid access_token")
            if info.expires_at <= now:
                raise ApiError(42001, "access_token expired")
            if info.invalid_after <= now:
                raise ApiError(40001, "invalid credential, access_token is invalid or not latest")

    # -- uploads ------------------------------------------------------------------
    def _store_file(self, data: bytes, ext: str) -> str:
        name = hashlib.sha256(data).hexdigest()[:32] + "." + ext
        self.files[name] = data
        return f"{self.base_url}/mmbiz/{name}"

    def upload_image(self, data: bytes, filename: str) -> dict[str, Any]:
        kind = _image_kind(data)
        if kind is None:
            raise ApiError(40005, "invalid file type: JPG or PNG only")
        if len(data) >= 1024 * 1024:
            raise ApiError(40009, "invalid image size: under 1 MB")
        with self.lock:
            url = self._store_file(data, kind)
            self.images.add(url)
            self.record["uploads"].append({"kind": "uploadimg", "url": url, "size": len(data)})
        return {"url": url}

    def add_material(self, media_type: str, data: bytes) -> dict[str, Any]:
        kind = _image_kind(data)
        if media_type not in ("thumb", "image"):
            raise ApiError(40004, "invalid media type")
        if media_type == "thumb" and (kind != "jpg" or len(data) > 64 * 1024):
            raise ApiError(40009, "thumb must be a JPG of at most 64 KB")
        if kind is None or len(data) > 10 * 1024 * 1024:
            raise ApiError(40009, "invalid image")
        with self.lock:
            media_id = self._id("MAT")
            url = self._store_file(data, kind)
            self.materials[media_id] = {"type": media_type, "url": url}
            self.record["uploads"].append({"kind": media_type, "media_id": media_id, "size": len(data)})
        return {"media_id": media_id, "url": url}

    # -- drafts -------------------------------------------------------------------
    def draft_add(self, raw: bytes, body: dict[str, Any]) -> dict[str, Any]:
        if ESCAPED.search(raw):
            raise ApiError(
                40033, "invalid charset. please check your request, if include \\uxxxx will create fail!"
            )
        articles = body.get("articles") or []
        if not 1 <= len(articles) <= 8:
            raise ApiError(45008, "article count out of limit (1-8)")
        kept = []
        with self.lock:
            for article in articles:
                kept.append(self._check_article(article))
            media_id = self._id("DRF")
            self.drafts[media_id] = kept
            self.record["drafts"].append({"media_id": media_id, "received": articles, "kept": kept})
        return {"media_id": media_id}

    def _check_article(self, article: dict[str, Any]) -> dict[str, Any]:
        for key, (limit, code) in LIMITS.items():
            if len(str(article.get(key, ""))) > limit:
                raise ApiError(code, f"{key} size out of limit")
        content = str(article.get("content", ""))
        if len(content) >= 20_000 or len(content.encode()) >= 1_000_000:
            raise ApiError(45002, "content size out of limit")
        if len(str(article.get("content_source_url", "")).encode()) > 1024:
            raise ApiError(45005, "content_source_url size out of limit")
        if article.get("thumb_media_id") not in self.materials:
            raise ApiError(40007, "invalid media_id (thumb_media_id must be permanent material)")
        scripts = len(SCRIPT.findall(content))
        external: list[str] = []

        def only_ours(match: re.Match[str]) -> str:  # WeChat strips foreign image sources
            if match.group(2) in self.images:
                return match.group(0)
            external.append(match.group(2))
            return match.group(1) + match.group(3)

        cleaned = IMG_SRC.sub(only_ours, SCRIPT.sub("", content))
        return {**article, "content": cleaned, "scripts_removed": scripts, "external_images": external}

    def draft_get(self, media_id: str) -> dict[str, Any]:
        with self.lock:
            if media_id not in self.drafts:
                raise ApiError(40007, "invalid media_id")
            return {"news_item": self.drafts[media_id]}

    def draft_delete(self, media_id: str) -> dict[str, Any]:
        with self.lock:
            if self.drafts.pop(media_id, None) is None:
                raise ApiError(40007, "invalid media_id")
        return {}

    # -- publication --------------------------------------------------------------
    def submit(self, media_id: str) -> dict[str, Any]:
        with self.lock:
            if not self.config.certified:
                raise ApiError(48001, "api unauthorized")
            articles = self.drafts.pop(media_id, None)
            if articles is None:
                raise ApiError(40007, "invalid media_id")
            publish_id = str(2_000_000_000 + len(self.publishes) + 1)
            review = self.reviews.pop(0) if self.reviews else {"status": 0}
            self.publishes[publish_id] = {"status": 1, "articles": articles, "review": review}
            self.record["submits"].append({"publish_id": publish_id, "media_id": media_id})
        self._later(lambda: self._finish_publish(publish_id))
        return {"publish_id": publish_id, "msg_data_id": int(publish_id) + 1}

    def _later(self, job: Any, delay: float | None = None) -> None:
        timer = threading.Timer(self.config.publish_delay if delay is None else delay, job)
        timer.daemon = True
        timer.start()

    def _finish_publish(self, publish_id: str) -> None:
        with self.lock:
            job = self.publishes[publish_id]
            status = int(job["review"].get("status", 0))
            job["status"] = status
            if status == 0:
                article_id = self._id("ART")
                job["article_id"] = article_id
                job["urls"] = [
                    f"{self.base_url}/s/{article_id}?idx={i}" for i in range(1, len(job["articles"]) + 1)
                ]
                self.articles[article_id] = {"articles": job["articles"], "deleted": set(), "at": self.now()}
                for idx, article in enumerate(job["articles"], start=1):
                    self.record["published"].append(
                        {
                            "publish_id": publish_id,
                            "article_id": article_id,
                            "idx": idx,
                            "title": article["title"],
                        }
                    )
            else:
                job["fail_idx"] = job["review"].get("fail_idx", [1])
            info = self.publish_status(publish_id)
        self.callback("PUBLISHJOBFINISH", _publish_event_xml(info))

    def publish_status(self, publish_id: str) -> dict[str, Any]:
        with self.lock:
            job = self.publishes.get(publish_id)
            if job is None:
                raise ApiError(40007, "invalid publish_id")
            answer: dict[str, Any] = {"publish_id": publish_id, "publish_status": job["status"]}
            if job["status"] == 0:
                items = [{"idx": i, "article_url": u} for i, u in enumerate(job["urls"], start=1)]
                answer.update(
                    article_id=job["article_id"], article_detail={"count": len(items), "item": items}
                )
            answer["fail_idx"] = job.get("fail_idx", [])
            return answer

    def delete_article(self, article_id: str, index: int) -> dict[str, Any]:
        with self.lock:
            article = self.articles.get(article_id)
            if article is None:
                raise ApiError(40007, "invalid article_id")
            every = range(1, len(article["articles"]) + 1)
            gone = list(every) if not index else [index]
            article["deleted"].update(gone)
            self.record["deleted"].append({"article_id": article_id, "index": index, "all": not index})
        return {}

    def batchget(self, offset: int, count: int) -> dict[str, Any]:
        with self.lock:
            rows = sorted(self.articles.items(), key=lambda kv: -kv[1]["at"])
            items = [
                {
                    "article_id": article_id,
                    "content": {
                        "news_item": [
                            {
                                **{k: a.get(k) for k in ("title", "author", "digest", "content_source_url")},
                                "url": f"{self.base_url}/s/{article_id}?idx={i}",
                                "is_deleted": i in art["deleted"],
                            }
                            for i, a in enumerate(art["articles"], start=1)
                        ]
                    },
                    "update_time": int(art["at"]),
                }
                for article_id, art in rows
            ]
        return {"total_count": len(items), "item_count": len(items[offset : offset + count]), "item": items}

    # -- mass send ----------------------------------------------------------------
    def _period(self, at: float) -> str:
        day = datetime.fromtimestamp(at, UTC).astimezone(TZ)
        return (
            day.strftime("%Y-%m-%d") if self.config.account_type == "subscription" else day.strftime("%Y-%m")
        )

    def sendall(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            now = self.now()
            clientmsgid = str(body.get("clientmsgid") or "")
            self.record["sendall_calls"].append({"clientmsgid": clientmsgid, "at": now})
            if not self.config.certified:
                raise ApiError(48001, "api unauthorized")
            if "group_id" in (body.get("filter") or {}) or not (body.get("filter") or {}).get("is_to_all"):
                raise ApiError(40130, "the sandbox sends to all followers only: filter.is_to_all = true")
            if len(clientmsgid.encode()) > 64:
                raise ApiError(40097, "clientmsgid longer than 64 bytes")
            seen = self.clientmsgids.get(clientmsgid)
            if clientmsgid and seen and now - seen[1] < 86_400:
                raise ApiError(45065, "clientmsgid exist", msg_id=int(seen[0]))
            period = self._period(now)
            used = sum(1 for m in self.masses.values() if m["period"] == period)
            if used >= (1 if self.config.account_type == "subscription" else 4):
                raise ApiError(45028, "has no masssend quota")
            media_id = str((body.get("mpnews") or {}).get("media_id", ""))
            articles = self.drafts.pop(media_id, None)
            if articles is None:
                raise ApiError(40007, "invalid media_id")
            msg_id = str(1_000_000_000 + len(self.masses) + 1)
            self.masses[msg_id] = {
                "status": "SENDING",
                "articles": articles,
                "period": period,
                "deleted": set(),
            }
            if clientmsgid:
                self.clientmsgids[clientmsgid] = (msg_id, now)
            self.record["mass_sends"].append(
                {
                    "msg_id": msg_id,
                    "clientmsgid": clientmsgid,
                    "titles": [a["title"] for a in articles],
                    "at": now,
                }
            )
        delay = self.config.mass_delay if self.config.mass_delay is not None else self.config.publish_delay
        self._later(lambda: self.finish_mass(msg_id), delay)
        return {"msg_id": int(msg_id), "msg_data_id": int(msg_id) + 7}

    def finish_mass(self, msg_id: str) -> None:
        """The send ends as ``config.mass_result`` says, once (a later call changes nothing)."""
        with self.lock:
            mass = self.masses[msg_id]
            if mass["status"] != "SENDING":
                return
            result = self.config.mass_result
            if result.strip().lower() != "send success":
                mass["status"] = "SEND_FAIL"
                mass["urls"] = []
            else:
                mass["status"] = "SEND_SUCCESS"
                mass["urls"] = [
                    f"{self.base_url}/s/mass{msg_id}?idx={i}" for i in range(1, len(mass["articles"]) + 1)
                ]
                self.articles[f"mass{msg_id}"] = {
                    "articles": mass["articles"],
                    "deleted": set(),
                    "at": self.now(),
                }
            xml = _mass_event_xml(msg_id, mass["urls"], result)
        self.callback("MASSSENDJOBFINISH", xml)

    @staticmethod
    def _msg_id(value: Any, documented: type) -> str:
        """WeChat answers 40059 to a msg_id it does not take: message/mass/get documents a
        string of digits, message/mass/delete a number."""
        if type(value) is not documented or not str(value).isdigit():
            raise ApiError(40059, f"invalid msg id (a {documented.__name__} expected, got {value!r})")
        return str(value)

    def mass_get(self, raw_msg_id: Any) -> dict[str, Any]:
        msg_id = self._msg_id(raw_msg_id, str)
        with self.lock:
            mass = self.masses.get(msg_id)
            self.record["mass_gets"].append({"msg_id": msg_id, "at": self.now()})
            if mass is None:
                raise ApiError(40059, "invalid msg id")
            return {"msg_id": int(msg_id), "msg_status": mass["status"]}

    def mass_preview(self, body: dict[str, Any]) -> dict[str, Any]:
        """``message/mass/preview``: one phone gets the send, nothing else changes."""
        to = body.get("towxname") or body.get("touser")
        if not to:
            raise ApiError(40003, "invalid openid: touser or towxname required")
        media_id = str((body.get("mpnews") or {}).get("media_id", ""))
        with self.lock:
            articles = self.drafts.get(media_id)
            if articles is None:
                raise ApiError(40007, "invalid media_id")
            msg_id = str(3_000_000_000 + len(self.record["previews"]) + 1)
            self.record["previews"].append(
                {
                    "to": to,
                    "by": "towxname" if body.get("towxname") else "touser",
                    "media_id": media_id,
                    "titles": [a["title"] for a in articles],
                    "msg_id": msg_id,
                    "at": self.now(),
                }
            )
        return {"errmsg": "preview success", "msg_id": int(msg_id)}

    def mass_delete(self, raw_msg_id: Any, article_idx: int) -> dict[str, Any]:
        msg_id = self._msg_id(raw_msg_id, int)
        with self.lock:
            mass = self.masses.get(msg_id)
            if mass is None:
                raise ApiError(40059, "invalid msg id")
            every = range(1, len(mass["articles"]) + 1)
            mass["deleted"].update(list(every) if not article_idx else [article_idx])
            self.articles[f"mass{msg_id}"]["deleted"] = mass["deleted"]
            self.record["deleted"].append(
                {"msg_id": str(msg_id), "index": article_idx, "all": not article_idx}
            )
        return {}

    def quota_get(self, cgi_path: str) -> dict[str, Any]:
        with self.lock:
            used = sum(
                1 for c in self.record["calls"] if c["path"] == cgi_path.strip("/").removeprefix("cgi-bin/")
            )
        return {"quota": {"daily_limit": 100_000, "used": used, "remain": 100_000 - used}}

    # -- the callback -------------------------------------------------------------
    def callback(self, event: str, inner: str) -> None:
        """POST the event to the configured server URL, signed like WeChat does."""
        cfg = self.config
        if not cfg.callback_url:
            return
        import httpx
        from wechatpy.crypto import WeChatCrypto
        from wechatpy.utils import WeChatSigner

        timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
        xml = (
            f"<xml><ToUserName><![CDATA[{cfg.original_id}]]></ToUserName>"
            f"<FromUserName><![CDATA[oSandboxSystem]]></FromUserName><CreateTime>{timestamp}</CreateTime>"
            f"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event>{inner}</xml>"
        )
        signer = WeChatSigner()
        signer.add_data(cfg.callback_token, timestamp, nonce)
        params = {"signature": signer.signature, "timestamp": timestamp, "nonce": nonce}
        if cfg.encoding_aes_key:
            crypto = WeChatCrypto(cfg.callback_token, cfg.encoding_aes_key, cfg.appid)
            xml = crypto.encrypt_message(xml, nonce, timestamp)
            encrypted = re.search(r"<MsgSignature><!\[CDATA\[(.*?)\]\]>", xml)
            params.update(encrypt_type="aes", msg_signature=encrypted.group(1) if encrypted else "")
        try:
            answer = httpx.post(cfg.callback_url, params=params, content=xml.encode(), timeout=5)
            outcome: Any = answer.status_code
        except httpx.HTTPError as exc:
            outcome = f"{type(exc).__name__}"
        with self.lock:
            self.record["callbacks"].append({"event": event, "answer": outcome, "xml": xml})

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return json.loads(json.dumps(self.record, default=list))


def _image_kind(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    return None


def _publish_event_xml(info: dict[str, Any]) -> str:
    items = "".join(
        f"<item><idx>{it['idx']}</idx><article_url><![CDATA[{it['article_url']}]]></article_url></item>"
        for it in info.get("article_detail", {}).get("item", [])
    )
    fails = "".join(f"<fail_idx>{i}</fail_idx>" for i in info.get("fail_idx", []))
    return (
        f"<PublishEventInfo><publish_id>{info['publish_id']}</publish_id>"
        f"<publish_status>{info['publish_status']}</publish_status>"
        f"<article_id><![CDATA[{info.get('article_id', '')}]]></article_id>"
        f"<article_detail><count>{len(info.get('article_detail', {}).get('item', []))}</count>{items}"
        f"</article_detail>{fails}</PublishEventInfo>"
    )


def _mass_event_xml(msg_id: str, urls: list[str], status: str = "send success") -> str:
    items = "".join(
        f"<item><ArticleIdx>{i}</ArticleIdx><ArticleUrl><![CDATA[{u}]]></ArticleUrl></item>"
        for i, u in enumerate(urls, start=1)
    )
    return (
        f"<MsgID>{msg_id}</MsgID><Status><![CDATA[{status}]]></Status><TotalCount>100</TotalCount>"
        f"<FilterCount>100</FilterCount><SentCount>100</SentCount><ErrorCount>0</ErrorCount>"
        f"<ArticleUrlResult><Count>{len(urls)}</Count><ResultList>{items}</ResultList></ArticleUrlResult>"
    )
