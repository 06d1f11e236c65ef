"""``govpub sandbox notice``: the boards' folders and a CUPS print server, on loopback.

- The boards: every folder under ``--root`` is a board or reading room, served read-only
  as the room's screen would show it: ``GET /`` lists them, ``GET /boards/{name}/`` the
  notices posted there (title, 索引号, state), ``GET /boards/{name}/{key}.pdf`` a notice.
- The print server: ``lp -h 127.0.0.1:PORT -d QUEUE file`` with the fake ``lp`` the
  sandbox writes (:func:`write_lp`, put it on PATH or set ``lp_command``) sends the job
  to ``POST /printers/{queue}/jobs``; ``GET /printers/{queue}/jobs`` lists the jobs
  received (JSON). ``POST /sandbox/printers/{queue}`` ``{"state": "idle" | "offline" |
  "reject"}`` adds a queue or changes it: offline answers as a CUPS scheduler that
  does not respond (lp: "scheduler not responding", transient), reject as a queue that
  does not accept jobs (``cupsreject``: permanent); an unknown queue does not exist.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
import threading
from dataclasses import dataclass, field
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import click

from channels.kit.sandbox import in_background, until_interrupted
from channels.notice import boards

STATES = ("idle", "offline", "reject")


@dataclass
class Queue:
    state: str = "idle"
    jobs: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class PrintServer:
    queues: dict[str, Queue] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_job: int = 1

    def jobs(self, queue: str) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.queues[queue].jobs) if queue in self.queues else []


class Handler(BaseHTTPRequestHandler):
    server: SandboxServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        parts = [unquote(p) for p in urlsplit(self.path).path.strip("/").split("/") if p]
        if not parts:
            return self._html("公告栏与政府信息查阅点", self._places())
        if parts[0] == "boards" and len(parts) == 2:
            return self._board(parts[1])
        if parts[0] == "boards" and len(parts) == 3 and parts[2].endswith(".pdf"):
            return self._file(parts[1], parts[2])
        if parts[0] == "printers" and len(parts) == 3 and parts[2] == "jobs":
            return self._json(200, self.server.printers.jobs(parts[1]))
        self._json(404, {"error": "not found"})

    def do_POST(self) -> None:
        parts = [unquote(p) for p in urlsplit(self.path).path.strip("/").split("/") if p]
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        if parts[:2] == ["sandbox", "printers"] and len(parts) == 3:
            state = json.loads(body or b"{}").get("state", "idle")
            if state not in STATES:
                return self._json(400, {"error": f"state: one of {STATES}"})
            with self.server.printers.lock:
                self.server.printers.queues.setdefault(parts[2], Queue()).state = state
            return self._json(200, {"queue": parts[2], "state": state})
        if parts[:1] == ["printers"] and len(parts) == 3 and parts[2] == "jobs":
            return self._job(parts[1], body)
        self._json(405, {"error": "the boards are read-only"})

    def do_PUT(self) -> None:
        self._json(405, {"error": "the boards are read-only"})

    do_DELETE = do_PUT

    def _job(self, name: str, data: bytes) -> None:
        printers = self.server.printers
        with printers.lock:
            queue = printers.queues.get(name)
            if queue is None:
                return self._json(404, {"error": "The printer or class does not exist."})
            if queue.state == "offline":
                return self._json(503, {"error": "scheduler not responding"})
            if queue.state == "reject":
                return self._json(409, {"error": f'Destination "{name}" is not accepting jobs.'})
            job = f"{name}-{printers.next_job}"
            printers.next_job += 1
            queue.jobs.append(
                {
                    "id": job,
                    "title": self.headers.get("x-job-title", "").encode("latin-1").decode("utf-8", "replace"),
                    "options": self.headers.get("x-job-options", ""),
                    "size": len(data),
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "pdf": data.startswith(b"%PDF-"),
                }
            )
        self._json(200, {"job": job})

    def _places(self) -> str:
        root = self.server.root
        names = (
            sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
            if root.is_dir()
            else []
        )
        rows = "".join(f'<li><a href="/boards/{escape(n)}/">{escape(n)}</a></li>' for n in names)
        return f"<ul>{rows}</ul>" if rows else "<p>（暂无公告栏）</p>"

    def _board(self, name: str) -> None:
        folder = self._folder(name)
        if folder is None:
            return self._json(404, {"error": "no such board"})
        rows = "".join(
            f'<tr><td><a href="{escape(r.key)}.pdf">{escape(r.title)}</a></td><td>{escape(r.index_no)}</td>'
            f"<td>{'已撤回' if r.state == 'withdrawn' else '张贴中'}</td><td>{r.revision}</td></tr>"
            for r in boards.records(folder)
        )
        table = f"<table><tr><th>标题</th><th>索引号</th><th>状态</th><th>版本</th></tr>{rows}</table>"
        self._html(f"{name}", table)

    def _file(self, name: str, file: str) -> None:
        folder = self._folder(name)
        path = folder / file if folder is not None and "/" not in file and not file.startswith(".") else None
        if path is None or not path.is_file():
            return self._json(404, {"error": "no such notice"})
        self._send(200, "application/pdf", path.read_bytes())

    def _folder(self, name: str) -> Path | None:
        folder = self.server.root / name
        return folder if "/" not in name and not name.startswith(".") and folder.is_dir() else None

    def _html(self, title: str, body: str) -> None:
        head = f'<!doctype html><meta charset="utf-8"><title>{escape(title)}</title>'
        page = f"{head}<h1>{escape(title)}</h1>{body}"
        self._send(200, "text/html; charset=utf-8", page.encode("utf-8"))

    def _json(self, status: int, value: Any) -> None:
        self._send(status, "application/json", json.dumps(value, ensure_ascii=False).encode("utf-8"))

    def _send(self, status: int, media_type: str, data: bytes) -> None:
        self.send_response(status)
        self.send_header("content-type", media_type)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path, port: int = 0, queues: tuple[str, ...] = ()) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.root = root
        self.printers = PrintServer({q: Queue() for q in queues})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    @property
    def cups_server(self) -> str:
        """What ``lp -h`` (the channel's ``cups_server``) takes."""
        return f"127.0.0.1:{self.server_address[1]}"


def start(root: Path, queues: tuple[str, ...] = (), port: int = 0) -> SandboxServer:
    """The sandbox in a thread (tests, the demo); ``shutdown()`` ends it."""
    root.mkdir(parents=True, exist_ok=True)
    return in_background(SandboxServer(root, port, queues), "notice-sandbox")


LP = '''#!{python}
"""A stand-in for CUPS's lp, talking to govpub's notice sandbox (govpub sandbox notice)."""
import json, os, sys, urllib.error, urllib.request

args, server, queue, title, options, files = sys.argv[1:], os.environ.get("CUPS_SERVER"), None, "", [], []
while args:
    arg = args.pop(0)
    if arg in ("-h", "-d", "-t", "-o", "-n", "-U") and args:
        value = args.pop(0)
        server = value if arg == "-h" else server
        queue = value if arg == "-d" else queue
        title = value if arg == "-t" else title
        options += [value] if arg == "-o" else []
    else:
        files.append(arg)
if not queue or len(files) != 1:
    sys.exit("lp: Error - this sandbox lp takes -d QUEUE and one file.")
try:
    data = open(files[0], "rb").read()
except OSError as exc:
    sys.exit(f"lp: Error - unable to access \\"{{files[0]}}\\" - {{exc.strerror}}")
request = urllib.request.Request(
    f"http://{{server or 'localhost:631'}}/printers/{{queue}}/jobs", data=data, method="POST",
    headers={{"content-type": "application/pdf", "x-job-title": title.encode("utf-8").decode("latin-1"),
             "x-job-options": " ".join(options)}},
)
try:
    with urllib.request.urlopen(request, timeout=30) as answer:
        job = json.load(answer)["job"]
except urllib.error.HTTPError as exc:
    error = json.load(exc).get("error", "")
    if exc.code == 503:
        sys.exit("lp: Error - scheduler not responding.")
    sys.exit(f"lp: {{error}}")
except OSError:
    sys.exit("lp: Error - scheduler not responding.")
print(f"request id is {{job}} (1 file(s))")
'''


def write_lp(folder: Path) -> Path:
    """A fake ``lp`` in ``folder`` (``folder/lp``), for PATH or ``lp_command``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "lp"
    path.write_text(LP.format(python=sys.executable), "utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@click.command("notice")
@click.option("--port", default=8797, show_default=True)
@click.option(
    "--root",
    type=click.Path(path_type=Path),
    default=Path("notice-boards"),
    show_default=True,
    help="The boards' folders (one per board or reading room).",
)
@click.option("--printer", "printers", multiple=True, help="A print queue to offer (repeat).")
def command(port: int, root: Path, printers: tuple[str, ...]) -> None:
    """Notice boards (read-only view) and a CUPS print server on 127.0.0.1."""
    root.mkdir(parents=True, exist_ok=True)
    server = SandboxServer(root, port, printers)
    lp = write_lp(root / ".bin")
    click.echo(f"boards: {server.url}/   print server: lp -h {server.cups_server} (fake lp: {lp})")
    click.echo(f"queues: {', '.join(printers) or 'none (POST /sandbox/printers/NAME)'}; ctrl-C stops")
    os.environ.setdefault("CUPS_SERVER", server.cups_server)
    until_interrupted(server)
