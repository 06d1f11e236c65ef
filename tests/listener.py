"""A loopback HTTP listener for outbound-fetch tests: it serves an image, redirects,
endless and dripping bodies, hangs, and counts every connection it accepts (an SSRF
test's listener must accept none)."""

from __future__ import annotations

import io
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from PIL import Image


def png_bytes(color: tuple[int, int, int] = (0, 120, 200), size: int = 24) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), color).save(out, "PNG")
    return out.getvalue()


class Listener(ThreadingHTTPServer):
    """``with Listener() as site: site.url("/image.png")``; ``site.connections`` counts
    accepted connections, ``site.requests`` the (path, Host header) of each request."""

    daemon_threads = True

    def __init__(self, host: str = "127.0.0.1") -> None:
        super().__init__((host, 0), _Handler)
        self.host = host
        self.connections = 0
        self.requests: list[tuple[str, str]] = []
        self.sent = 0  # body bytes written by the endless routes
        self.closing = threading.Event()
        self.image = png_bytes()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def url(self, path: str = "/image.png", host: str | None = None) -> str:
        return f"http://{host or self.host}:{self.port}{path}"

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.connections += 1
        return True

    def __enter__(self) -> Listener:
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.closing.set()
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: Listener
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        self.server.requests.append((parts.path, self.headers.get("host", "")))
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        route = getattr(self, "route_" + parts.path.strip("/").replace("-", "_").replace(".", "_"), None)
        if route is None:
            self._answer(404, b"not here", "text/plain")
        else:
            route(query)

    def _answer(self, status: int, body: bytes, media_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("content-type", media_type)
        self.send_header("content-length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def route_image_png(self, query: dict[str, str]) -> None:
        self._answer(200, self.server.image, "image/png")

    def route_redirect(self, query: dict[str, str]) -> None:
        self._answer(int(query.get("status", "302")), b"", "text/plain", location=query["to"])

    def route_loop(self, query: dict[str, str]) -> None:
        self._answer(302, b"", "text/plain", location="/loop")

    def route_declared_huge(self, query: dict[str, str]) -> None:
        self.send_response(200)
        self.send_header("content-type", "image/png")
        self.send_header("content-length", str(1536 * 1024 * 1024))
        self.end_headers()
        self.wfile.write(self.server.image)

    def route_endless(self, query: dict[str, str]) -> None:
        """An image that never ends (no length announced), 64 KiB at a time."""
        self.send_response(200)
        self.send_header("content-type", "image/png")
        self.end_headers()
        chunk = self.server.image + b"\0" * (64 * 1024 - len(self.server.image))
        try:
            while not self.server.closing.is_set():
                self.wfile.write(chunk)
                self.server.sent += len(chunk)
        except OSError:
            pass

    def route_drip(self, query: dict[str, str]) -> None:
        """A byte every tenth of a second, for ever: no read ever waits long."""
        self.send_response(200)
        self.send_header("content-type", "image/png")
        self.end_headers()
        try:
            while not self.server.closing.is_set():
                self.wfile.write(b"\0")
                self.wfile.flush()
                time.sleep(0.1)
        except OSError:
            pass

    def route_hang(self, query: dict[str, str]) -> None:
        self.server.closing.wait(60)
