"""A CMS with an HTTP API, as the website channel's ``http`` adapter expects one.

    PUT    /documents/{index_no}   create or replace a document (JSON) → {"url": …, "id": …}
    DELETE /documents/{index_no}   withdraw it (JSON body with the reason); 404 if absent
    GET    /documents              the stored 索引号 (also the adapter's health check)
    GET    /documents/{index_no}   one stored document, its version count and revision
    GET    /pages/{index_no}.html  the "published page" whose URL the PUT answers
    GET    /control, POST /control misbehave on purpose, see :class:`Plan`
    GET    /requests               every request seen, with the outcome
    GET    /record                 what the CMS holds: title, writes and revision per 索引号

Every request under ``/documents`` must carry the bearer token and a valid
signature (:mod:`channels.website.signing`), else 401 with the reason. Documents
are keyed by 索引号, so the same PUT twice stores one document (``versions`` counts
the writes). Run it with ``govpub sandbox cms --port 8780`` and point a website
channel with ``adapter = "http"`` at ``http://127.0.0.1:8780/documents``.
"""

from __future__ import annotations

import asyncio
import html
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse

from channels.kit.sandbox import replan, use_up
from channels.website.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify


@dataclass
class Plan:
    """How the next requests to ``/documents/…`` misbehave: the next ``fail`` answer
    ``fail_status``; the next ``slow`` wait ``slow_seconds`` (after storing, as a CMS
    that is slow to answer does); the next ``reject`` answer ``reject_status`` with
    ``reject_message``; and every one takes ``latency_seconds`` at least, like a CMS
    across a network (the benchmark's realistic website)."""

    latency_seconds: float = 0.0
    fail: int = 0
    fail_status: int = 503
    slow: int = 0
    slow_seconds: float = 0.0
    reject: int = 0
    reject_status: int = 422
    reject_message: str = "字段不符合栏目要求"


@dataclass
class Cms:
    token: str
    secret: str
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    withdrawn: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    plan: Plan = field(default_factory=Plan)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, what: str) -> bool:
        return use_up(self.plan, what, self.lock)

    def refusal(self, request: Request, body: bytes) -> str | None:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return "bearer token missing or wrong"
        return verify(
            self.secret,
            request.headers.get(TIMESTAMP_HEADER, ""),
            request.method,
            request.scope["raw_path"].decode(),
            body,
            request.headers.get(SIGNATURE_HEADER, ""),
            time.time(),
        )


def create_app(cms: Cms) -> FastAPI:
    app = FastAPI(title="govpub CMS sandbox")
    app.state.cms = cms

    def answer(request: Request, status: int, body: dict[str, Any]) -> JSONResponse:
        cms.requests.append({"method": request.method, "path": request.url.path, "status": status, **body})
        return JSONResponse(body, status_code=status)

    async def gate(request: Request, body: bytes) -> JSONResponse | None:
        """Authentication, then the planned failures; None lets the request through."""
        refused = cms.refusal(request, body)
        if refused:
            return answer(request, 401, {"message": refused})
        if cms.take("fail"):
            return answer(request, cms.plan.fail_status, {"message": "sandbox: planned failure"})
        if cms.take("reject"):
            return answer(request, cms.plan.reject_status, {"message": cms.plan.reject_message})
        return None

    async def slowly() -> None:
        if cms.plan.latency_seconds > 0:
            await asyncio.sleep(cms.plan.latency_seconds)
        if cms.take("slow"):
            await asyncio.sleep(cms.plan.slow_seconds)

    @app.put("/documents/{index_no:path}")
    async def put_document(index_no: str, request: Request) -> JSONResponse:
        body = await request.body()
        refused = await gate(request, body)
        if refused:
            return refused
        try:
            document = await request.json()
        except ValueError:
            return answer(request, 400, {"message": "body is not JSON"})
        if not isinstance(document, dict) or not document.get("title"):
            return answer(request, 422, {"message": "title 字段不能为空"})
        with cms.lock:
            versions = cms.documents.get(index_no, {}).get("versions", 0) + 1
            cms.documents[index_no] = {
                "document": document,
                "versions": versions,
                "revision": request.headers.get("x-govpub-revision"),
            }
            cms.withdrawn.pop(index_no, None)
        await slowly()
        url = f"{request.base_url}pages/{index_no}.html"
        return answer(request, 201 if versions == 1 else 200, {"url": url, "id": index_no})

    @app.delete("/documents/{index_no:path}")
    async def delete_document(index_no: str, request: Request) -> JSONResponse:
        body = await request.body()
        refused = await gate(request, body)
        if refused:
            return refused
        with cms.lock:
            gone = cms.documents.pop(index_no, None)
            if gone is not None:
                cms.withdrawn[index_no] = {**gone, "reason": (await request.json()).get("reason")}
        await slowly()
        if gone is None:
            return answer(request, 404, {"message": f"no document {index_no}"})
        return answer(request, 200, {"deleted": True, "id": index_no})

    @app.get("/documents")
    async def list_documents(request: Request) -> JSONResponse:
        refused = cms.refusal(request, b"")
        if refused:
            return JSONResponse({"message": refused}, status_code=401)
        return JSONResponse(sorted(cms.documents))

    @app.get("/documents/{index_no:path}")
    async def get_document(index_no: str) -> JSONResponse:
        found = cms.documents.get(index_no)
        if found is None:
            return JSONResponse({"message": f"no document {index_no}"}, status_code=404)
        return JSONResponse(found)

    @app.get("/pages/{index_no:path}")
    async def page(index_no: str) -> HTMLResponse:
        found = cms.documents.get(index_no.removesuffix(".html"))
        if found is None:
            return HTMLResponse("<h1>该页面不存在或已撤回</h1>", status_code=404)
        title = html.escape(str(found["document"].get("title", "")))
        return HTMLResponse(
            f"<!doctype html><html lang='zh-CN'><title>{title}</title><h1>{title}</h1></html>"
        )

    @app.get("/control")
    async def show_plan() -> dict[str, Any]:
        return {"plan": asdict(cms.plan), "documents": len(cms.documents), "requests": len(cms.requests)}

    @app.post("/control")
    async def change_plan(request: Request) -> dict[str, Any]:
        cms.plan = replan(cms.plan, await request.json(), cms.lock)
        return {"plan": asdict(cms.plan)}

    @app.get("/requests")
    async def seen() -> list[dict[str, Any]]:
        return cms.requests

    @app.get("/record")
    async def record() -> dict[str, Any]:
        """The CMS's own view, for a test or a chaos run to check govpub's log against."""
        with cms.lock:
            return {
                state: {
                    index_no: {
                        "title": held["document"].get("title"),
                        "versions": held["versions"],
                        "revision": held["revision"],
                    }
                    for index_no, held in documents.items()
                }
                for state, documents in (("documents", cms.documents), ("withdrawn", cms.withdrawn))
            }

    @app.get("/health")
    async def health() -> dict[str, bool]:
        return {"ok": True}

    return app


def serve(host: str, port: int, token: str, secret: str) -> None:
    import uvicorn

    uvicorn.run(create_app(Cms(token, secret)), host=host, port=port, log_level="warning")
