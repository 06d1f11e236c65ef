"""A small client for upstream approval systems.

    with GovpubClient("https://govpub.example.gov.cn", token) as gp:
        receipt = gp.submit(item)            # dict as in the API
        answers = gp.submit_many(items)      # batches of up to 500
        gp.status("zdjy-oa", "zs-2017-001")
        gp.retract("zdjy-oa", "zs-2017-001", "内容有误")

The API's refusals come back as the same exceptions the server raised
(:class:`pipeline.errors.ValidationFailed`, ``Unauthorized``, ``Forbidden`` …).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

import httpx

from pipeline import errors

_BY_STATUS: dict[int, type[errors.IntakeError]] = {
    401: errors.Unauthorized,
    403: errors.Forbidden,
    404: errors.NotFound,
    409: errors.Conflict,
    422: errors.ValidationFailed,
}


def raise_for_answer(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        body = response.json()
    except ValueError:
        body = {"message": response.text[:500]}
    if body.get("error") == "stale_revision":
        raise errors.StaleRevision(body.get("message", ""), body.get("details"))
    cls = _BY_STATUS.get(response.status_code, errors.IntakeError)
    exc = cls(body.get("message", response.reason_phrase), body.get("details"))
    exc.status = response.status_code
    raise exc


def chunks(items: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


class GovpubClient:
    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(
            base_url=url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )

    def __enter__(self) -> GovpubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def _json(self, response: httpx.Response) -> Any:
        raise_for_answer(response)
        return response.json()

    def submit(self, item: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._json(self.http.post("/v1/items", json=item))
        return result

    def submit_many(self, items: Iterable[dict[str, Any]], batch: int = 500) -> list[dict[str, Any]]:
        """Answers in order, one per item: ``{"status": …, "receipt"|"error": …}``."""
        answers: list[dict[str, Any]] = []
        for group in chunks(items, batch):
            answers += self._json(self.http.post("/v1/items:batch", json={"items": group}))
        return answers

    def status(self, source: str, item_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._json(self.http.get(f"/v1/items/{source}/{item_id}"))
        return result

    def retract(self, source: str, item_id: str, reason: str) -> dict[str, Any]:
        response = self.http.request("DELETE", f"/v1/items/{source}/{item_id}", json={"reason": reason})
        result: dict[str, Any] = self._json(response)
        return result

    def overview(self) -> dict[str, Any]:
        """The operations overview (``GET /v1/overview``), as ``govpub status`` shows it."""
        result: dict[str, Any] = self._json(self.http.get("/v1/overview"))
        return result

    def counts(self) -> dict[str, dict[str, int]]:
        result: dict[str, dict[str, int]] = self._json(self.http.get("/v1/status"))
        return result
