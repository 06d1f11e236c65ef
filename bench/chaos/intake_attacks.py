"""The chaos run's attacks on the intake and the read endpoints: index squatting,
large bodies without a token, and reads that would leak. Each returns (tried, bad):
bad is what must stay 0 in the table."""

from __future__ import annotations

import socket
import threading
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select

from bench.chaos.campaigns import _item, answer_of, until_up
from pipeline import db

AGENCY = "113703030000000000"  # the run's items (demo-like): this agency, 2017


def index_squatting(url: str, token: str, cluster: Any) -> tuple[int, int]:
    """A second source claims the next five serials of the run's agency and year, then
    claims one of them again; three automatic items follow. Bad: an automatic item not
    accepted, a second claim not answered 409, or any 5xx."""
    squatter = until_up(lambda: cluster.services.store.add_source("squatter"))
    last = until_up(lambda: _last_serial(cluster, AGENCY, 2017))
    claims = [
        _item(id=f"squat-{n}", title=f"索引号抢注 {n}", index_no=f"{AGENCY}/2017-{last + n:05d}")
        for n in range(1, 6)
    ]
    again = _item(id="squat-again", title="索引号重复抢注", index_no=claims[0]["index_no"])
    victims = [_item(id=f"squat-victim-{n}", title=f"索引号抢注后的条目 {n}") for n in range(1, 4)]
    bad = 0
    with httpx.Client(base_url=url, timeout=60) as client:
        for claim in claims:
            answer = answer_of(client, "POST", "/v1/items", json=claim, headers=_auth(squatter))
            bad += answer.status_code >= 500
        bad += answer_of(client, "POST", "/v1/items", json=again, headers=_auth(squatter)).status_code != 409
        batch = answer_of(client, "POST", "/v1/items:batch", json={"items": victims}, headers=_auth(token))
        bad += batch.status_code != 200 or any(a["status"] != 202 for a in batch.json())
    return len(claims) + 1 + len(victims), bad


def _last_serial(cluster: Any, code: str, year: int) -> int:
    s = db.index_serials
    with cluster.services.engine.connect() as conn:
        found = conn.execute(
            select(s.c.last_serial).where(s.c.agency_code == code, s.c.year == year)
        ).scalar_one_or_none()
    return int(found or 0)


def _auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def body_floods(url: str, uploads: int = 3, announced: int = 60 * 1024 * 1024) -> tuple[int, int]:
    """``uploads`` parallel POST /v1/items:batch announcing 60 MiB without a token (and
    as many with a forged one), each sending 64 KiB. Bad: an upload not refused with 401
    before the rest of its body was sent (a server that reads it would wait for it)."""
    tokens = [None] * uploads + ["gp_forged"] * uploads
    statuses: list[int] = []
    threads = [
        threading.Thread(target=lambda t=t: statuses.append(_upload(url, t, announced))) for t in tokens
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(tokens), sum(status != 401 for status in statuses)


def _upload(url: str, token: str | None, announced: int) -> int:
    host, port = url.removeprefix("http://").split(":")
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    head = f"POST /v1/items:batch HTTP/1.1\r\nHost: {host}\r\nContent-Length: {announced}\r\n{auth}\r\n"
    try:
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            sock.sendall(head.encode() + b'{"items": [' + b" " * 65536)
            answer = sock.recv(4096)
    except OSError:
        return 0
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0


def read_leaks(url: str, token: str, cluster: Any) -> tuple[int, int]:
    """Reads an outsider or a source makes: the annual report without a login, the
    overview, the source's own item. Bad: a title, reason or log in the public report,
    a receipt in the overview or the item's status, or the data folder's path anywhere."""
    year = datetime.now(ZoneInfo(cluster.settings.timezone)).year
    folder = str(cluster.settings.data_dir)
    with httpx.Client(base_url=url, timeout=60) as client:
        report = answer_of(client, "GET", f"/v1/reports/{year}")
        overview = answer_of(client, "GET", "/v1/overview")
        item = answer_of(client, "GET", "/v1/items/chaos/b-1", headers=_auth(token))
    counts = report.json().get("counts", {}) if report.status_code == 200 else {}
    found = [
        report.status_code != 200 or "log" in counts or "late_items" in counts.get("timeliness", {}),
        "external_ref" in overview.text,
        "external_ref" in item.text or "claimed_by" in item.text,
    ]
    found += [folder in answer.text for answer in (report, overview, item)]
    return len(found), sum(found)
