"""An archive receiver: accepts package uploads and checks them the way an archive
does at receipt (DA/T 70 integrity: the transfer checksum, the bag's completeness,
every manifest including SM3, the metadata against its schema).

``PUT /packages/{package_id}`` with the file as the body (``X-Package-SHA256`` is
the sender's checksum) answers 201 ``{"status": "accepted", "receipt": …}`` or 422
``{"status": "rejected", "problems": […]}``. The same package sent again gets the
same receipt (``"duplicate": true``), so it is not counted twice. Every answer is
appended to ``records.jsonl`` in the folder and served at ``GET /packages``.

``POST /control`` makes it misbehave on purpose, as receivers do: ``{"fail": 2}``
answers the next two uploads 503 without keeping them; ``{"slow": 1,
"slow_seconds": 5}`` keeps the next upload and answers only after 5 s, so a
sender with a shorter timeout gives up on a package that did arrive.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from channels.archive.bag import file_sha256
from channels.archive.verify import verify
from channels.kit.sandbox import replan, use_up

ACCEPTED, INCOMING = "accepted", "incoming"


@dataclass
class Plan:
    """How the next uploads misbehave (see the module's docstring)."""

    fail: int = 0
    fail_status: int = 503
    slow: int = 0
    slow_seconds: float = 0.0


class Receiver:
    """The sandbox's state: one folder of accepted packages and the record."""

    def __init__(self, folder: Path, token: str | None = None) -> None:
        self.folder = folder
        self.token = token
        self.plan = Plan()
        self.lock = threading.Lock()
        for sub in (ACCEPTED, INCOMING):
            (folder / sub).mkdir(parents=True, exist_ok=True)

    @property
    def log(self) -> Path:
        return self.folder / "records.jsonl"

    def records(self) -> list[dict[str, Any]]:
        if not self.log.is_file():
            return []
        return [json.loads(line) for line in self.log.read_text("utf-8").splitlines() if line]

    def take(self, what: str) -> bool:
        return use_up(self.plan, what, self.lock)

    def record(self, entry: dict[str, Any]) -> None:
        with self.lock, open(self.log, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def receive(
        self, package_id: str, upload: Path, declared: str | None, name: str
    ) -> tuple[int, dict[str, Any]]:
        sha256 = file_sha256(upload)
        base = {"package_id": package_id, "sha256": sha256, "size": upload.stat().st_size}
        if declared and declared.lower() != sha256:
            return 422, {
                **base,
                "status": "rejected",
                "problems": [f"transfer checksum {sha256} != declared {declared}"],
            }
        report = verify(upload)
        if not report.ok:
            problems = [f"{where}: {what}" for where, what in report.problems]
            return 422, {**base, "status": "rejected", "problems": problems}
        if report.package_id != package_id:
            return 422, {**base, "status": "rejected", "problems": [f"bag says it is {report.package_id}"]}
        receipt = "RCPT-" + hashlib.sha256(f"{package_id}:{sha256}".encode()).hexdigest()[:20].upper()
        final = self.folder / ACCEPTED / name
        duplicate = final.is_file() and file_sha256(final) == sha256
        os.replace(upload, final)
        return 201, {
            **base,
            "status": "accepted",
            "receipt": receipt,
            "items": report.items,
            "retractions": report.retractions,
            "duplicate": duplicate,
        }


def create_app(folder: Path, token: str | None = None) -> FastAPI:
    receiver = Receiver(folder, token)
    app = FastAPI(title="govpub archive receiver sandbox")
    app.state.receiver = receiver

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/packages")
    def packages() -> list[dict[str, Any]]:
        return receiver.records()

    @app.get("/control")
    def show_plan() -> dict[str, Any]:
        return asdict(receiver.plan)

    @app.post("/control")
    async def change_plan(request: Request) -> dict[str, Any]:
        receiver.plan = replan(receiver.plan, await request.json(), receiver.lock)
        return asdict(receiver.plan)

    @app.put("/packages/{package_id}")
    async def upload(package_id: str, request: Request) -> JSONResponse:
        if receiver.token and request.headers.get("authorization") != f"Bearer {receiver.token}":
            return JSONResponse({"status": "refused", "error": "unauthorized"}, status_code=401)
        if receiver.take("fail"):
            return JSONResponse({"status": "unavailable"}, status_code=receiver.plan.fail_status)
        name = Path(request.headers.get("x-package-name") or f"{package_id}.tar").name
        incoming = folder / INCOMING / f"{secrets.token_hex(8)}-{name}"
        with open(incoming, "wb") as fh:
            async for chunk in request.stream():
                fh.write(chunk)
        try:
            declared = request.headers.get("x-package-sha256")
            status, answer = await run_in_threadpool(receiver.receive, package_id, incoming, declared, name)
        finally:
            incoming.unlink(missing_ok=True)
        receiver.record(answer)
        if receiver.take("slow"):
            await asyncio.sleep(receiver.plan.slow_seconds)
        return JSONResponse(answer, status_code=status)

    return app


def serve(host: str, port: int, folder: Path, token: str | None) -> None:
    import uvicorn

    uvicorn.run(create_app(folder, token), host=host, port=port, log_level="warning")
