"""``govpub sandbox websub``: a WebSub hub on loopback that records publishers' pings.

Point a feed channel's ``websub_hub`` at ``http://127.0.0.1:PORT/``. Like a real hub
it answers a ping (a form POST with ``hub.mode=publish`` and ``hub.url``) with
``204``, then fetches the topic; here the fetch happens before the answer, so that
when the publisher's ping returns, the record already says what the hub saw.

    POST /                 the publish ping
    GET  /sandbox/pings    every ping: topic, fetched status, ETag, SHA-256 of the body (JSON)
    POST /sandbox/faults   {"status": 503, "times": 2}: refuse the next pings with that status
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import httpx

from channels.kit.sandbox import in_background, until_interrupted


class Handler(BaseHTTPRequestHandler):
    server: HubServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        if self.path == "/sandbox/pings":
            with self.server.lock:
                body = json.dumps(self.server.pings, ensure_ascii=False).encode()
            self._send(200, body, "application/json")
        else:
            self._send(404, b"not found", "text/plain")

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length)
        if self.path == "/sandbox/faults":
            orders = json.loads(raw or b"{}")
            with self.server.lock:
                self.server.faults = [int(orders.get("status", 503))] * int(orders.get("times", 1))
            self._send(204, b"", "text/plain")
            return
        if self.path != "/":
            self._send(404, b"not found", "text/plain")
            return
        form = parse_qs(raw.decode("utf-8", "replace"))
        mode, topics = form.get("hub.mode", [""])[0], form.get("hub.url", [])
        if mode != "publish" or not topics:
            self._send(400, b"expected hub.mode=publish and hub.url", "text/plain")
            return
        with self.server.lock:
            fault = self.server.faults.pop(0) if self.server.faults else None
        if fault is not None:
            self._send(fault, b"sandbox fault", "text/plain")
            return
        for topic in topics:
            self.server.record(topic)
        self._send(204, b"", "text/plain")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class HubServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, port: int, fetch: bool = True) -> None:
        super().__init__((host, port), Handler)
        self.url = f"http://{host}:{self.server_address[1]}/"
        self.fetch = fetch
        self.lock = threading.Lock()
        self.pings: list[dict[str, Any]] = []
        self.faults: list[int] = []

    def record(self, topic: str) -> None:
        ping: dict[str, Any] = {"topic": topic}
        if self.fetch:
            try:
                answer = httpx.get(topic, timeout=10)
                ping.update(
                    status=answer.status_code,
                    etag=answer.headers.get("etag"),
                    sha256=hashlib.sha256(answer.content).hexdigest(),
                )
            except httpx.HTTPError as exc:
                ping.update(status=None, error=str(exc))
        with self.lock:
            self.pings.append(ping)


def start(host: str = "127.0.0.1", port: int = 0, fetch: bool = True) -> HubServer:
    """A hub serving in a background thread (tests); ``shutdown()`` ends it."""
    server = HubServer(host, port, fetch)
    return in_background(server, "websub-sandbox")


def serve(host: str, port: int, fetch: bool) -> None:
    """``govpub sandbox websub``: serve until interrupted."""
    until_interrupted(HubServer(host, port, fetch))
