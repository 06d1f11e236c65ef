"""The http adapter: pushes each item to the agency's own CMS.

``PUT {base_url}/{index_no}`` with a JSON document (fields mapped by the
``fields`` option) creates or replaces the page: the same 索引号 always names the
same document, so a redelivered task replaces rather than duplicates it.
``DELETE`` withdraws it (a JSON body carries the reason). Every request is signed
(:mod:`channels.website.signing`) and carries the bearer token (both secrets from the
environment or files: :mod:`channels.kit.secrets`). One ``httpx``
client per channel instance keeps connections alive between deliveries.

Answers: 2xx is done (the CMS's page URL, field ``url_field``, becomes the
delivery's reference); a 404 to a ``DELETE`` means already withdrawn; everything else
follows the one rule of :mod:`channels.kit.http` (429 and 5xx retried, ``Retry-After``
honoured; any other 4xx permanent, with the CMS's own message for the operator).
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from channels.kit import http
from channels.kit.secrets import read_secret
from channels.website.options import HttpOptions
from channels.website.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature
from pipeline import outbound
from pipeline.channel import ChannelEnv, DeliveryContext, Health, Ref
from pipeline.errors import PermanentError
from pipeline.model import Published
from pipeline.sanitize import sanitize_html
from pipeline.urls import item_url


class CmsPush:
    def __init__(self, name: str, options: HttpOptions, env: ChannelEnv) -> None:
        self.name = name
        self.settings = env.settings
        self.env = env
        self.base = options.base_url.rstrip("/")
        where = f"channels.{name}.options"
        self.token = str(read_secret(options, "token", key=where, label="the CMS bearer token"))
        self.secret = str(read_secret(options, "secret", key=where, label="the CMS signing key"))
        options.check_fields(name)
        self.fields = options.fields
        self.url_field = options.url_field
        timeout = httpx.Timeout(
            connect=options.connect_timeout,
            read=options.read_timeout,
            write=options.read_timeout,
            pool=options.connect_timeout,
        )
        policy = outbound.Policy.from_settings(self.settings.outbound)
        headers = {"user-agent": "govpub website channel"}
        self.client = outbound.endpoint_client(options.base_url, policy, timeout=timeout, headers=headers)

    # -- the channel operations ----------------------------------------------------
    def publish(self, item: Published, ctx: DeliveryContext, previous: Ref | None = None) -> Ref:
        body = json.dumps(self.document(item), ensure_ascii=False, sort_keys=True).encode()
        answer = self._send("PUT", item, body, ctx)
        try:
            url = answer.json()[self.url_field]
        except (ValueError, KeyError, TypeError) as exc:
            raise PermanentError(
                f"the CMS accepted {item.index_no} but its answer has no {self.url_field!r}: "
                f"{answer.text[:300]}"
            ) from exc
        if not isinstance(url, str) or not url:
            raise PermanentError(f"the CMS answered a page URL that is not a string: {url!r}")
        return {"url": url, "index_no": item.index_no, "revision": item.revision}

    def retract(self, item: Published, previous: Ref | None, reason: str, ctx: DeliveryContext) -> Ref | None:
        body = json.dumps({"reason": reason, "index_no": item.index_no}, ensure_ascii=False).encode()
        answer = self._send("DELETE", item, body, ctx, missing_ok=True)
        if answer.status_code == 404:
            return None if previous is None else {"index_no": item.index_no, "deleted": "already gone"}
        return {"index_no": item.index_no, "deleted": True, "url": (previous or {}).get("url")}

    def health(self) -> Health:
        """A signed ``GET {base_url}``: reachable, and the token and secret accepted."""
        try:
            answer = self.client.get(self.base, headers=self._headers("GET", self.base, b""))
        except httpx.HTTPError as exc:
            return Health(False, f"CMS unreachable: {exc}")
        return Health(answer.is_success, f"CMS answered {answer.status_code} to GET {self.base}")

    # -- the document --------------------------------------------------------------
    def document(self, item: Published) -> dict[str, Any]:
        data = item.model_dump(mode="json")
        data["body_html"] = sanitize_html(item.body_html)  # the one rule of every output
        computed = {
            "$url": item_url(self.settings, item, agencies=self.env.agencies),
            "$revision": item.revision,
            "$attachments": [a.model_dump(mode="json") for a in item.attachments],
        }
        return {
            cms_field: computed[source] if source in computed else _dig(data, source)
            for cms_field, source in self.fields.items()
        }

    # -- HTTP ----------------------------------------------------------------------
    def _send(
        self, method: str, item: Published, body: bytes, ctx: DeliveryContext, missing_ok: bool = False
    ) -> httpx.Response:
        url = f"{self.base}/{quote(item.index_no, safe='/')}"
        headers = self._headers(method, url, body)
        headers.update({"X-Govpub-Revision": str(item.revision), "X-Govpub-Delivery": str(ctx.delivery_id)})
        ok = {404} if missing_ok else set()
        return http.request(
            self.client, method, url, what="CMS", now=ctx.now, ok=ok, content=body, headers=headers
        )

    def _headers(self, method: str, url: str, body: bytes) -> dict[str, str]:
        stamp = str(int(time.time()))
        return {
            "authorization": f"Bearer {self.token}",
            "content-type": "application/json; charset=utf-8",
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: signature(self.secret, stamp, method, urlsplit(url).path, body),
        }


def _dig(data: Any, path: str) -> Any:
    for part in path.split("."):
        data = data.get(part) if isinstance(data, dict) else None
    return data
