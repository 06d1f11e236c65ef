"""Upstream sources authenticate with a bearer token; each may touch only its own items.

The token is checked before the request's body is read: FastAPI reads and parses a
body before it resolves dependencies, so a route that takes a source (``source_of``)
is a :class:`SourceRoute`, whose handler looks the token up first and answers 401
(closing the connection) without reading a byte of the body. An intruder's upload
then costs a header lookup, not a parse of tens of megabytes.

A source's own large bodies (over ``LARGE_BODY`` bytes, or of unknown length) are
read and parsed one at a time per process: a parsed batch takes several times its
size in memory, so ``serve``'s memory stays bounded by one such body however many
arrive at once. The others wait with their bytes unread in the socket.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import anyio
from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from pipeline.errors import Forbidden, Unauthorized

LARGE_BODY = 1024 * 1024


def authenticate(request: Request) -> str:
    """The source that the request's bearer token belongs to, or Unauthorized."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send 'Authorization: Bearer <token>' (govpub sources add NAME)")
    source = request.app.state.services.store.source_for_token(token.strip())
    if source is None:
        raise Unauthorized("unknown or revoked token")
    return str(source)


def source_of(request: Request) -> str:
    """The authenticated source (a :class:`SourceRoute` checked it before the body)."""
    known = getattr(request.state, "source", None)
    return str(known) if known is not None else authenticate(request)


def needs_source(dependant: Dependant) -> bool:
    """Whether a route (or any dependency of it) takes the authenticated source."""
    return any(d.call is source_of or needs_source(d) for d in dependant.dependencies)


def large(request: Request) -> bool:
    """A body over LARGE_BODY bytes, or one whose length is not announced (chunked)."""
    length = request.headers.get("content-length")
    if length is None:
        return "chunked" in request.headers.get("transfer-encoding", "").lower()
    return not length.isdigit() or int(length) > LARGE_BODY


class SourceRoute(APIRoute):
    """A route that takes ``source_of`` authenticates before its body is read, and
    reads a large body only while no other large body is being read."""

    large_bodies = anyio.Semaphore(1)  # per process: the bound on serve's memory

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if not needs_source(self.dependant):
            return handler

        async def token_first(request: Request) -> Response:
            try:
                request.state.source = await run_in_threadpool(authenticate, request)
            except Unauthorized as exc:
                # The body is never read: close the connection rather than drain it.
                headers = {"www-authenticate": "Bearer", "connection": "close"}
                return JSONResponse(exc.to_json(), status_code=exc.status, headers=headers)
            if not large(request):
                return await handler(request)
            async with SourceRoute.large_bodies:
                return await handler(request)

        return token_first


def require_same_source(caller: str, owner: str) -> None:
    if caller != owner:
        raise Forbidden(f"source {caller!r} may not touch items of source {owner!r}")
