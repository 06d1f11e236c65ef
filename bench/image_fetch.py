"""Memory of ``govpub serve`` while the WeChat channel fetches a huge body image.

    python -m bench.image_fetch [--size-mb 1536] [--code DIR]

A loopback server generates an "image" of ``--size-mb`` MiB on the fly (a PNG
signature, then zeros, sent as fast as it is read, no Content-Length, so no check of
a declared length can help), an item whose body carries it goes into an embedded
``govpub serve`` (SQLite, in-process worker) with the WeChat channel against its
sandbox, and the script reports serve's peak RSS (VmHWM) before and after the
delivery attempt, how many bytes the image server sent and what became of the item.

``--code DIR`` runs govpub from another checkout (a worktree of an older commit), to
measure before and after a change with the same script. The image host is
allow-listed (``[outbound] allow``) when that code has an outbound policy.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import tomli_w

from bench.infra import scratch
from bench.measure import peak_rss_mb
from bench.spine import demo_like_items
from pipeline.localcluster import free_port, stop_process, wait_http

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHUNK = 1024 * 1024


class HugeImage(ThreadingHTTPServer):
    """Serves ``size`` bytes at any path, generated as they are sent."""

    daemon_threads = True

    def __init__(self, size: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.size, self.sent = size, 0

    def __enter__(self) -> HugeImage:
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: HugeImage

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "image/png")
        self.end_headers()
        zeros = bytes(CHUNK)
        try:
            self.wfile.write(PNG_SIGNATURE)
            left = self.server.size - len(PNG_SIGNATURE)
            while left > 0:
                piece = zeros[: min(CHUNK, left)]
                self.wfile.write(piece)
                self.server.sent += len(piece)
                left -= len(piece)
        except OSError:  # the client hung up: what a limit enforced while streaming does
            pass


def _govpub(code: Path | None, root: Path, env: dict[str, str], *args: str, **kw: Any) -> Any:
    environment = {**os.environ, **env}
    if code is not None:
        environment["PYTHONPATH"] = str(code)
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", *args],
        cwd=root,
        env=environment,
        start_new_session=True,
        **kw,
    )


def run(size_mb: int, code: Path | None, root: Path) -> dict[str, Any]:
    has_policy = ((code or Path(__file__).resolve().parents[1]) / "pipeline" / "outbound.py").exists()
    sandbox_port, serve_port = free_port(), free_port()
    wechat = {
        "appid": "wxsandbox0000001",
        "api_base_url": f"http://127.0.0.1:{sandbox_port}/cgi-bin/",
        "poll_seconds": 0.3,
        "timeout_seconds": 60.0,
    }
    config: dict[str, Any] = {
        "database_url": f"sqlite:///{root / 'govpub.db'}",
        "data_dir": str(root / "data"),
        "max_attempts": 1,
        "channels": {
            "website": {"kind": "memory", "options": {"path": str(root / "site")}},
            "wechat": {"kind": "wechat", "depends_on": ["website"], "options": wechat},
        },
    }
    if has_policy:
        config["outbound"] = {"allow": ["127.0.0.1"]}
    (root / "govpub.toml").write_text(tomli_w.dumps(config), "utf-8")
    env = {"GOVPUB_CONFIG": str(root / "govpub.toml"), "GOVPUB_WECHAT_SECRET": "sandbox-secret"}
    added = _govpub(code, root, env, "sources", "add", "bench", stdout=subprocess.PIPE)
    token = added.communicate(timeout=120)[0].decode().strip().splitlines()[-1]
    log = (root / "serve.log").open("wb")
    procs = [
        _govpub(code, root, env, "sandbox", "wechat", "--port", str(sandbox_port), stdout=log, stderr=log),
        _govpub(code, root, env, "serve", "--port", str(serve_port), stdout=log, stderr=log),
    ]
    serve = procs[1]
    url = f"http://127.0.0.1:{serve_port}"
    try:
        wait_http(f"{url}/healthz", 60)
        time.sleep(2)  # let start-up settle before the baseline
        before = peak_rss_mb(serve.pid)
        with HugeImage(size_mb * 1024 * 1024) as image:
            item = demo_like_items(1)[0]
            item.pop("source", None)
            src = f"http://127.0.0.1:{image.server_address[1]}/huge.png"
            item["body_html"] = f'<p>正文</p><p><img src="{src}" alt="巨图"></p>'
            auth = {"authorization": f"Bearer {token}"}
            answer = httpx.post(f"{url}/v1/items", json=item, headers=auth, timeout=60)
            answer.raise_for_status()
            started = time.monotonic()
            delivery = _finished(url, item["id"], auth)
            took = time.monotonic() - started
            sent = image.sent
        after = peak_rss_mb(serve.pid)
    finally:
        for proc in procs:
            stop_process(proc)
    return {
        "image_mib": size_mb,
        "policy": has_policy,
        "serve_peak_rss_before_mib": round(before, 1),
        "serve_peak_rss_after_mib": round(after, 1),
        "image_bytes_sent_mib": round(sent / 1024 / 1024, 1),
        "seconds": round(took, 1),
        "state": delivery["state"],
        "error": (delivery.get("last_error") or "")[:160],
        "notes": (delivery.get("external_ref") or {}).get("notes"),
    }


def _finished(url: str, item_id: str, auth: dict[str, str], timeout: float = 1800) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = httpx.get(f"{url}/v1/items/bench/{item_id}", headers=auth, timeout=60).json()
        rows = [d for d in body["deliveries"] if d["channel"] == "wechat"]
        if rows and rows[0]["state"] in ("delivered", "dead"):
            result: dict[str, Any] = rows[0]
            return result
        time.sleep(0.5)
    raise TimeoutError("the WeChat delivery never finished")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.image_fetch", description=__doc__)
    parser.add_argument("--size-mb", type=int, default=1536)
    parser.add_argument("--code", type=Path, default=None, help="run govpub from this checkout")
    args = parser.parse_args(argv)
    with scratch() as root:
        result = run(args.size_mb, args.code.resolve() if args.code else None, root)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
