"""Upstream sources authenticate with a bearer token; each may touch only its own items."""

from __future__ import annotations

from fastapi import Request

from pipeline.errors import Forbidden, Unauthorized


def source_of(request: Request) -> str:
    """The source that the request's bearer token belongs to."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send 'Authorization: Bearer <token>' (govpub sources add NAME)")
    source = request.app.state.services.store.source_for_token(token.strip())
    if source is None:
        raise Unauthorized("unknown or revoked token")
    return str(source)


def require_same_source(caller: str, owner: str) -> None:
    if caller != owner:
        raise Forbidden(f"source {caller!r} may not touch items of source {owner!r}")
