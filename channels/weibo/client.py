"""Weibo's open API over HTTP, through the outbound policy: each call's answer is
classified by Weibo's ``error_code`` first (:mod:`.errors`), then by the kit's HTTP rule
(:mod:`channels.kit.http`: no answer, 5xx and 429 transient, other 4xx permanent)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from channels.kit import http
from channels.weibo.errors import classify
from channels.weibo.options import WeiboOptions
from pipeline import outbound

Picture = tuple[str, bytes, str]  # file name, content, media type


class Api:
    def __init__(self, opts: WeiboOptions, policy: outbound.Policy) -> None:
        self.opts = opts
        self.api = outbound.endpoint_client(opts.api_base_url, policy, timeout=opts.timeout_seconds)
        self.oauth = outbound.endpoint_client(opts.oauth_base_url, policy, timeout=opts.timeout_seconds)

    def share(self, token: str, text: str, picture: Picture | None, now: datetime) -> dict[str, Any]:
        """``statuses/share.json``: the post (``idstr``, ``user.idstr``, ``text``)."""
        data = {"access_token": token, "status": text}
        files = {"pic": picture} if picture is not None else None
        return self._call(
            self.api, "POST", self.opts.api_base_url + "statuses/share.json", now, data=data, files=files
        )

    def destroy(self, token: str, post_id: str, now: datetime) -> dict[str, Any]:
        data = {"access_token": token, "id": post_id}
        return self._call(self.api, "POST", self.opts.api_base_url + "statuses/destroy.json", now, data=data)

    def timeline(self, token: str, now: datetime, count: int = 100) -> list[dict[str, Any]]:
        """The authorised user's latest posts, newest first (``statuses/user_timeline.json``)."""
        params = {"access_token": token, "count": str(count)}
        answer = self._call(
            self.api, "GET", self.opts.api_base_url + "statuses/user_timeline.json", now, params=params
        )
        return list(answer.get("statuses") or [])

    def token_info(self, token: str, now: datetime) -> dict[str, Any]:
        """``oauth2/get_token_info``: ``uid``, ``appkey``, ``expire_in`` (seconds left)."""
        return self._call(self.oauth, "POST", self.opts.token_info_url, now, data={"access_token": token})

    def refresh(self, refresh_token: str, app_secret: str, now: datetime) -> dict[str, Any]:
        """``oauth2/access_token`` with ``grant_type=refresh_token``: a new access token
        (``access_token``, ``expires_in``, perhaps a new ``refresh_token``)."""
        data = {
            "client_id": self.opts.app_key,
            "client_secret": app_secret,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        }
        return self._call(self.oauth, "POST", self.opts.token_url, now, data=data)

    def _call(
        self, client: httpx.Client, method: str, url: str, now: datetime, **kwargs: Any
    ) -> dict[str, Any]:
        with http.unanswered(f"Weibo: {method} {url}"):
            answer = client.request(method, url, **kwargs)
        try:
            body = answer.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("error_code"):
            code = int(body["error_code"])
            raise classify(code, str(body.get("error") or ""), str(body.get("request") or url))
        http.check(answer, what="Weibo", now=now)
        if not isinstance(body, dict):
            raise http.status_error(502, f"Weibo answered {method} {url} without JSON")
        return body
