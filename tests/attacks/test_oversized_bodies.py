"""Oversized and unauthenticated bodies against a running ``govpub serve``.

A request without a valid token is answered 401 before its body is read: the test
announces 60 MiB, sends 64 KiB and gets its answer (a server that waited for the
body would never answer). An authenticated body over ``max_body_bytes`` is a 413
while it streams, chunked or not. Memory and /healthz latency under the attack are
figures, not assertions: ``python -m bench.attacks``.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from pipeline.auth import SourceRoute, needs_source
from tests.attacks.serving import Served, raw_exchange, serve_for
from tests.helpers import api_routes

SIXTY_MIB = 60 * 1024 * 1024
LIMIT = 1024 * 1024


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Served:
    root = tmp_path_factory.mktemp("oversized")
    with serve_for(root, f"sqlite:///{root / 'govpub.db'}", max_body_bytes=LIMIT) as running:
        yield running  # type: ignore[misc]


def head(method: str, path: str, length: int | None, token: str | None = None) -> str:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    lines.append(f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked")
    if token:
        lines.append(f"Authorization: Bearer {token}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/v1/items:batch"), ("POST", "/v1/items"), ("DELETE", "/v1/items/test/t-1")],
)
@pytest.mark.parametrize("token", [None, "gp_forged"])
def test_an_unauthenticated_body_is_never_read(
    served: Served, method: str, path: str, token: str | None
) -> None:
    length = LIMIT - 1  # within the limit: only the token can stop it
    status, answer = raw_exchange(
        served.url, head(method, path, length, token), b'{"items": [' + b" " * 65536
    )
    assert status == 401, answer[:300]
    assert b"connection: close" in answer.lower()


def test_an_announced_body_over_the_limit_is_413_unread(served: Served) -> None:
    status, answer = raw_exchange(served.url, head("POST", "/v1/items:batch", SIXTY_MIB, served.token), b"{")
    assert status == 413, answer[:300]


def chunked(total: int, size: int = 64 * 1024) -> bytes:
    piece = b"x" * size
    return b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for _ in range(total // size)) + b"0\r\n\r\n"


def test_a_chunked_body_over_the_limit_is_413(served: Served) -> None:
    status, answer = raw_exchange(
        served.url, head("POST", "/v1/items:batch", None, served.token), chunked(2 * LIMIT)
    )
    assert status == 413, answer[:300]
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1] or b"{}").get("error", "too_large") == "too_large"


def test_a_chunked_body_within_the_limit_is_read(served: Served) -> None:
    body = json.dumps({"items": []}).encode()
    framed = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    status, answer = raw_exchange(served.url, head("POST", "/v1/items:batch", None, served.token), framed)
    assert status == 422, answer[:300]  # read and parsed: an empty batch is refused on its merits


def test_every_route_that_takes_a_source_checks_it_before_the_body(api: TestClient) -> None:
    taking = [(path, route) for path, route in api_routes(api.app) if needs_source(route.dependant)]
    assert {path for path, _ in taking} >= {"/v1/items", "/v1/items:batch", "/v1/items/{source}/{item_id}"}
    assert [path for path, route in taking if not isinstance(route, SourceRoute)] == []


def test_every_route_that_reads_a_body_knows_its_sender_first_or_reads_little(api: TestClient) -> None:
    """A body is read only after the token (SourceRoute) or the console session (the
    login gate) was checked, or, where the body itself is the credential (the login
    form, a WeChat callback), up to a small limit of the route's own."""
    readers = [(p, r) for p, r in api_routes(api.app) if r.methods - {"GET", "HEAD"}]
    assert len(readers) >= 8
    unguarded = [
        path
        for path, route in readers
        if not (isinstance(route, SourceRoute) and needs_source(route.dependant))
        and not (path.startswith("/console/") and path != "/console/login")
        and not (route.max_body_size is not None and route.max_body_size <= 256 * 1024)
    ]
    assert unguarded == []


@pytest.mark.parametrize("path", ["/console/login", "/wechat/callback"])
def test_an_unauthenticated_form_or_callback_is_small(served: Served, path: str) -> None:
    request = f"POST {path} HTTP/1.1\nHost: 127.0.0.1\nContent-Type: application/x-www-form-urlencoded\n"
    status, answer = raw_exchange(served.url, request + f"Content-Length: {LIMIT - 1}\n", b"username=")
    assert status == 413, answer[:300]
