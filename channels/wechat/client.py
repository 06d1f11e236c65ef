"""A wechatpy 1.8.18 client with what the channel needs and the release lacks.

- ``draft``, ``freepublish`` and ``mass`` API groups (``BaseWeChatAPI`` subclasses, as
  wechatpy 2.x has them; the mass send body is written here because 1.8.18's
  ``send_mass_article`` still sends the retired ``group_id`` filter);
- a configurable API base URL and token URL (API gateways, the sandbox), and
  ``stable_token`` as an option;
- the token in a store every worker shares (wechatpy's ``RedisStorage``), fetched
  under a lock: a second process waits and takes the token the first one got,
  instead of fetching another one that would knock the first out after 5 minutes;
- one bounded retry on 40001/40014/42001 (wechatpy's own retry has no limit).

Bodies are UTF-8 JSON with real characters (wechatpy dumps with ``ensure_ascii=False``):
``\\uXXXX`` escapes in a title give 40033.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import requests
from redis.exceptions import LockError
from wechatpy import WeChatClient
from wechatpy.client.api.base import BaseWeChatAPI
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage
from wechatpy.session.redisstorage import RedisStorage

from channels.wechat.options import WeChatOptions
from pipeline.crashpoints import crash_point

TOKEN_ERRORS = frozenset({40001, 40014, 42001})
OPENID = re.compile(r"[\w\-]{28}")  # wechatpy's rule for telling an openid from a WeChat ID
DUPLICATE_CLIENTMSGID = 45065


class DraftAPI(BaseWeChatAPI):
    """草稿箱: drafts that ``freepublish/submit`` or a mass send takes out of the box."""

    def add(self, articles: list[dict[str, Any]]) -> str:
        result = self._post("draft/add", data={"articles": articles})
        return str(result["media_id"])

    def get(self, media_id: str) -> dict[str, Any]:
        return dict(self._post("draft/get", data={"media_id": media_id}))

    def delete(self, media_id: str) -> dict[str, Any]:
        return dict(self._post("draft/delete", data={"media_id": media_id}))


class FreePublishAPI(BaseWeChatAPI):
    """发布能力: publication without a push to followers; results come asynchronously."""

    def submit(self, media_id: str) -> dict[str, Any]:
        return dict(self._post("freepublish/submit", data={"media_id": media_id}))

    def get(self, publish_id: str) -> dict[str, Any]:
        return dict(self._post("freepublish/get", data={"publish_id": publish_id}))

    def delete(self, article_id: str, index: int) -> dict[str, Any]:
        """Delete one article. ``index`` is 1-based; 0 would delete the whole publication."""
        if index < 1:
            raise ValueError(f"refusing freepublish/delete with index {index}: it deletes every article")
        return dict(self._post("freepublish/delete", data={"article_id": article_id, "index": index}))

    def batchget(self, offset: int = 0, count: int = 20) -> dict[str, Any]:
        data = {"offset": offset, "count": count, "no_content": 1}
        return dict(self._post("freepublish/batchget", data=data))


class MassAPI(BaseWeChatAPI):
    """群发: pushed to followers, counted against the account's mass-send quota."""

    def sendall(self, media_id: str, clientmsgid: str) -> dict[str, Any]:
        """Send a draft to every follower. A ``clientmsgid`` seen in the last 24 h is
        refused with 45065 and the existing ``msg_id``: answered as that send."""
        body = {
            "filter": {"is_to_all": True},
            "mpnews": {"media_id": media_id},
            "msgtype": "mpnews",
            "send_ignore_reprint": 0,
            "clientmsgid": clientmsgid,
        }
        try:
            return dict(self._post("message/mass/sendall", data=body))
        except WeChatClientException as exc:
            if exc.errcode == DUPLICATE_CLIENTMSGID:
                earlier = _json_of(exc.response)
                if earlier.get("msg_id"):
                    return {**earlier, "duplicate": True}
            raise

    def get(self, msg_id: str) -> dict[str, Any]:
        """The send's ``msg_status``. ``msg_id`` goes as a string of digits, as documented
        (``{"msg_id": "201053012"}``); WeChat answers it as a number."""
        return dict(self._post("message/mass/get", data={"msg_id": str(int(msg_id))}))

    def preview(self, media_id: str, recipient: str) -> dict[str, Any]:
        """``message/mass/preview``: the send to one phone. ``recipient`` is an openid
        (``touser``, 28 characters) or a WeChat ID (``towxname``), as wechatpy tells them."""
        to = "touser" if OPENID.fullmatch(recipient) else "towxname"
        body = {to: recipient, "mpnews": {"media_id": media_id}, "msgtype": "mpnews"}
        return dict(self._post("message/mass/preview", data=body))

    def delete(self, msg_id: str, article_idx: int) -> dict[str, Any]:
        """Make one article of a sent message unreadable. ``article_idx`` is 1-based; 0 or
        missing deletes them all. Followers keep the pushed card: it cannot be recalled."""
        if article_idx < 1:
            raise ValueError(f"refusing message/mass/delete with article_idx {article_idx}")
        data = {"msg_id": int(msg_id), "article_idx": article_idx}  # a number, as documented
        return dict(self._post("message/mass/delete", data=data))


def _json_of(response: Any) -> dict[str, Any]:
    try:
        return dict(response.json())
    except Exception:
        return {}


class GovpubWeChatClient(WeChatClient):
    draft = DraftAPI()
    freepublish = FreePublishAPI()
    mass = MassAPI()

    def __init__(self, options: WeChatOptions, session: SessionStorage) -> None:
        super().__init__(
            options.appid, secret=None, session=session, timeout=options.timeout_seconds, auto_retry=False
        )
        self.API_BASE_URL = options.api_base_url
        self.options = options
        self._local_lock = threading.Lock()
        self.token_fetches = 0  # this process's fetches, for health and tests

    # -- tokens -------------------------------------------------------------------
    @property
    def access_token(self) -> str:
        """The shared token; the store's TTL ends it a little before WeChat does."""
        token = self.session.get(self.access_token_key)
        return str(token) if token else self.refresh(stale=None)

    def fetch_access_token(self) -> dict[str, Any]:
        return {"access_token": self.refresh(stale=None)}

    def refresh(self, stale: str | None) -> str:
        """A token other than ``stale``: one another process just stored, or a new one."""
        with self._token_lock():
            current = self.session.get(self.access_token_key)
            if current and current != stale:
                return str(current)
            token = self._fetch(force=False)
            if token == stale and self.options.stable_token:
                token = self._fetch(force=True)
            return token

    @contextmanager
    def _token_lock(self) -> Iterator[None]:
        if isinstance(self.session, RedisStorage):
            lock = self.session.redis.lock(
                self.session.key_name(f"{self.appid}_access_token_lock"), timeout=30, blocking_timeout=30
            )
            lock.acquire()
            try:
                yield
            finally:
                with suppress(LockError):  # it expired meanwhile: the token was stored all the same
                    lock.release()
        else:
            with self._local_lock:
                yield

    def _fetch(self, force: bool) -> str:
        opts = self.options
        if opts.stable_token:
            body = {
                "grant_type": "client_credential",
                "appid": opts.appid,
                "secret": opts.secret(),
                "force_refresh": force,
            }
            res = self._http.post(opts.token_endpoint, data=json.dumps(body), timeout=self.timeout)
        else:
            params = {"grant_type": "client_credential", "appid": opts.appid, "secret": opts.secret()}
            res = self._http.get(opts.token_endpoint, params=params, timeout=self.timeout)
        self.token_fetches += 1
        try:
            res.raise_for_status()
        except requests.RequestException as exc:
            raise WeChatClientException(
                None, None, client=self, request=exc.request, response=exc.response
            ) from exc
        result = _json_of(res)
        if result.get("errcode"):
            raise WeChatClientException(
                int(result["errcode"]), result.get("errmsg"), client=self, request=res.request, response=res
            )
        token = str(result["access_token"])
        expires_in = int(result.get("expires_in", 7200))
        self.session.set(self.access_token_key, token, max(expires_in - min(300, expires_in // 4), 1))
        return token

    # -- requests -----------------------------------------------------------------
    def _request(self, method: str, url_or_endpoint: str, **kwargs: Any) -> Any:
        """One call; on a token error, one refresh and one retry, never more."""
        params = dict(kwargs.pop("params", None) or {})
        used = params.get("access_token") or self.access_token
        try:
            return super()._request(
                method, url_or_endpoint, params={**params, "access_token": used}, **kwargs
            )
        except WeChatClientException as exc:
            if exc.errcode not in TOKEN_ERRORS:
                raise
        fresh = self.refresh(stale=used)
        return super()._request(method, url_or_endpoint, params={**params, "access_token": fresh}, **kwargs)

    # -- uploads ------------------------------------------------------------------
    def upload_content_image(self, filename: str, data: bytes, mime: str) -> str:
        """``media/uploadimg``: the only image URLs WeChat keeps inside article content."""
        result = self.post("media/uploadimg", files={"media": (filename, data, mime)})
        crash_point("wechat.uploadimg")
        return str(result["url"])

    def add_thumb(self, filename: str, data: bytes) -> tuple[str, str]:
        """Permanent ``thumb`` material (JPG ≤ 64 KB): a cover's ``thumb_media_id``."""
        result = self.post(
            "material/add_material", params={"type": "thumb"}, files={"media": (filename, data, "image/jpeg")}
        )
        crash_point("wechat.add_material")
        return str(result["media_id"]), str(result.get("url", ""))
