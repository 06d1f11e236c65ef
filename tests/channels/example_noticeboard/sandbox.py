"""A notice board on loopback, for tests and ``govpub sandbox noticeboard``: it keeps
notices in memory and answers as the real board does (401 without the token)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import click
from fastapi import FastAPI, Header, HTTPException, Response


@dataclass
class Board:
    token: str = "sandbox-token"
    notices: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def create_app(board: Board) -> FastAPI:
    app = FastAPI()

    def authorised(authorization: str | None) -> None:
        if authorization != f"Bearer {board.token}":
            raise HTTPException(401, "wrong or missing token")

    @app.put("/api/notices/{key:path}")
    def show(key: str, notice: dict[str, Any], authorization: str | None = Header(None)) -> dict[str, Any]:
        authorised(authorization)
        with board.lock:
            board.notices[key] = notice
        return {"id": key}

    @app.delete("/api/notices/{key:path}", status_code=204)
    def take_down(key: str, authorization: str | None = Header(None)) -> Response:
        authorised(authorization)
        with board.lock:
            if board.notices.pop(key, None) is None:
                raise HTTPException(404, "no such notice")
        return Response(status_code=204)

    @app.get("/api/health")
    def health(authorization: str | None = Header(None)) -> dict[str, str]:
        authorised(authorization)
        return {"status": "ok"}

    return app


@click.command("noticeboard")
@click.option("--port", default=8795, show_default=True)
@click.option("--token", envvar="GOVPUB_NOTICEBOARD_TOKEN", default="sandbox-token", show_default=True)
def command(port: int, token: str) -> None:
    """A notice board on 127.0.0.1 (its API under /api)."""
    import uvicorn

    uvicorn.run(create_app(Board(token=token)), host="127.0.0.1", port=port)
