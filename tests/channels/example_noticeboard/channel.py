"""The notice board channel: ``PUT {url}/notices/{索引号}`` shows an item, ``DELETE``
takes it down. The 索引号 names the notice, so a redelivered task replaces the same
notice rather than adding one: idempotent per delivery without any state of ours."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from channels.kit import http, secrets
from pipeline import outbound
from pipeline.channel import Channel, ChannelEnv, DeliveryContext, Health, Ref
from pipeline.model import Published
from pipeline.sanitize import sanitize_html
from pipeline.urls import item_url

from .options import parse_options


class NoticeboardChannel(Channel):
    kind = "noticeboard"

    @classmethod
    def check_options(cls, name: str, options: dict[str, Any]) -> None:
        secrets.check_secrets(parse_options(name, options), name)

    def __init__(self, name: str, options: dict[str, Any], env: ChannelEnv) -> None:
        super().__init__(name, options, env)
        self.opts = parse_options(name, options)
        policy = outbound.Policy.from_settings(env.settings.outbound)
        self.client = outbound.endpoint_client(self.opts.url, policy, timeout=self.opts.timeout_seconds)

    def publish(self, item: Published, ctx: DeliveryContext) -> Ref:
        notice = {
            "title": item.title,
            "agency": item.agency.name,
            "date": item.generated_on.isoformat(),
            "body_html": sanitize_html(item.body_html),  # the one rule of every output
            "url": item_url(self.env.settings, item, agencies=self.env.agencies),  # type: ignore[arg-type]
            "revision": item.revision,
        }
        answer = self._send("PUT", item, ctx, json=notice)
        return {"notice": answer.json()["id"], "index_no": item.index_no, "revision": item.revision}

    def retract(self, item: Published, previous: Ref | None, reason: str, ctx: DeliveryContext) -> Ref | None:
        self._send("DELETE", item, ctx, ok={404}, params={"reason": reason})  # 404: already gone
        return None if previous is None else {"notice": previous["notice"], "withdrawn": True}

    def health(self) -> Health:
        try:
            answer = self.client.get(f"{self.opts.url}/health", headers=self._auth())
        except httpx.HTTPError as exc:
            return Health(False, f"notice board unreachable: {exc}")
        return Health(answer.is_success, f"notice board answered {answer.status_code}")

    def _send(self, method: str, item: Published, ctx: DeliveryContext, **kwargs: Any) -> httpx.Response:
        url = f"{self.opts.url}/notices/{quote(item.index_no, safe='')}"
        return http.request(
            self.client, method, url, what="notice board", now=ctx.now, headers=self._auth(), **kwargs
        )

    def _auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {secrets.read_secret(self.opts, 'token')}"}
