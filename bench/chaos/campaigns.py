"""Hostile inputs and intruders against a running govpub.

Each request must be refused: a hostile input with a documented 4xx (never a 5xx,
never a 2xx), an intruder with 401/403/404 (any 2xx is an unauthorised success).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from sqlalchemy.exc import OperationalError

from bench.spine import demo_like_items

T = TypeVar("T")


def _item(**changes: Any) -> dict[str, Any]:
    item = demo_like_items(1)[0]
    item.pop("source", None)
    item.update({"id": "hostile-1", "title": "安全测试条目", **changes})
    return item


def hostile_bodies() -> list[tuple[bytes, str]]:
    approval = _item()["approval"]
    missing = {**approval, "checks": approval["checks"][:2]}
    failed = {**approval, "checks": [{**approval["checks"][0], "result": "fail"}, *approval["checks"][1:]]}
    bodies: list[dict[str, Any] | bytes] = [
        b"[" * 50_000 + b"]" * 50_000,
        b'{"id": "x", "title": "\xff\xfe"}',
        b"not json at all",
        _item(approval=missing),
        _item(approval=failed),
        _item(approval={}),
        _item(revision=-1),
        _item(generated_on="20170-01-01"),
        _item(category="<script>alert(1)</script>"),
        _item(attachments=[{"name": "../../../etc/passwd", "content_base64": "!!"}]),
        _item(title="x" * 5000),
    ]
    out: list[tuple[bytes, str]] = []
    for body in bodies:
        raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        out.append((raw, "application/json"))
    out.append((json.dumps(_item()).encode(), "text/plain"))
    return out


def answer_of(client: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """The service's verdict on a request: retried while the service itself is down
    (connection errors, 503), since an outage is not an answer."""
    for _ in range(240):
        try:
            answer = client.request(method, path, **kwargs)
        except httpx.TransportError:
            time.sleep(0.25)
            continue
        if answer.status_code not in (502, 503, 504):
            return answer
        time.sleep(0.25)
    raise RuntimeError(f"{method} {path}: the service never came back")


def until_up(call: Callable[[], T]) -> T:
    """A direct database call, retried while PostgreSQL restarts under us."""
    for _ in range(240):
        try:
            return call()
        except OperationalError:
            time.sleep(0.25)
    raise RuntimeError("the database never came back")


def hostile_inputs(url: str, token: str) -> tuple[int, int]:
    """Returns (tried, mishandled): mishandled is any answer but a 4xx."""
    tried = mishandled = 0
    with httpx.Client(base_url=url, headers={"authorization": f"Bearer {token}"}, timeout=30) as client:
        for body, content_type in hostile_bodies():
            tried += 1
            answer = answer_of(
                client, "POST", "/v1/items", content=body, headers={"content-type": content_type}
            )
            mishandled += not 400 <= answer.status_code < 500
    return tried, mishandled


def intrusions(url: str, token: str, cluster: Any) -> tuple[int, int]:
    """Returns (tried, succeeded): every one of these must be refused."""
    store = cluster.services.store
    other = until_up(lambda: store.add_source("intruder"))
    revoked = until_up(lambda: store.add_source("former"))
    until_up(lambda: store.revoke_source("former"))
    item = _item(id="owned-by-chaos")
    with httpx.Client(base_url=url, timeout=30) as client:
        answer_of(client, "POST", "/v1/items", json=item, headers={"authorization": f"Bearer {token}"})
        attempts = [
            ("POST", "/v1/items", {}, item),
            ("POST", "/v1/items", {"authorization": "Bearer gp_forged"}, item),
            ("POST", "/v1/items", {"authorization": f"Bearer {revoked}"}, item),
            ("POST", "/v1/items", {"authorization": f"Bearer {other}"}, {**item, "source": "chaos"}),
            ("GET", "/v1/items/chaos/owned-by-chaos", {"authorization": f"Bearer {other}"}, None),
            (
                "DELETE",
                "/v1/items/chaos/owned-by-chaos",
                {"authorization": f"Bearer {other}"},
                {"reason": "恶意撤回"},
            ),
            (
                "DELETE",
                "/v1/items/chaos/owned-by-chaos",
                {"authorization": f"Bearer {revoked}"},
                {"reason": "撤回"},
            ),
            ("DELETE", "/v1/items/chaos/owned-by-chaos", {}, {"reason": "撤回"}),
        ]
        succeeded = 0
        for method, path, headers, body in attempts:
            answer = answer_of(client, method, path, headers=headers, json=body)
            succeeded += answer.is_success
    tried, got_in = console_intrusions(url, cluster)
    callbacks, forged = wechat_callback_intrusions(url)
    return len(attempts) + tried + callbacks, succeeded + got_in + forged


CONSOLE_PAGES = ["/console/", "/console/deliveries", "/console/items", "/console/items/1"]
CONSOLE_ACTIONS = [
    ("/console/deliveries/1/retry", {}),
    ("/console/deliveries/1/skip", {"reason": "越权跳过"}),
    ("/console/items/1/retract", {"reason": "越权撤回", "confirm": "yes"}),
]


def got_through(answer: httpx.Response) -> bool:
    """A 2xx, or a redirect anywhere but the login page (a console action answers 303)."""
    if answer.is_redirect:
        return not answer.headers.get("location", "").startswith("/console/login")
    return answer.is_success


def console_intrusions(url: str, cluster: Any) -> tuple[int, int]:
    """Every page and action without a session; every action with an auditor's session
    and with an operator's session but a forged CSRF token. Returns (tried, got in)."""
    from pipeline.console.auth import Accounts

    accounts = Accounts(cluster.services.engine, cluster.services.clock)
    password = "chaos-" + "x" * 16
    until_up(lambda: accounts.add("chaos.audit", "auditor", password, platform=True))
    until_up(lambda: accounts.add("chaos.ops", "admin", password))
    tried = got_in = 0

    def attempt(client: httpx.Client, method: str, path: str, **kwargs: Any) -> None:
        nonlocal tried, got_in
        tried += 1
        got_in += got_through(answer_of(client, method, path, **kwargs))

    with httpx.Client(base_url=url, timeout=30) as stranger:
        for page in CONSOLE_PAGES:
            attempt(stranger, "GET", page)
        for action, fields in CONSOLE_ACTIONS:
            attempt(stranger, "POST", action, data={**fields, "csrf": "0" * 64})
    for user, forged in (("chaos.audit", False), ("chaos.ops", True)):
        with httpx.Client(base_url=url, timeout=30) as session:
            csrf = _log_in(session, user, password)
            for action, fields in CONSOLE_ACTIONS:
                for token in ("", "f" * 64) if forged else (csrf,):
                    attempt(session, "POST", action, data={**fields, "csrf": token})
    return tried, got_in


def _log_in(client: httpx.Client, user: str, password: str) -> str:
    """The console's login form, as a browser fills it; returns the session's CSRF token."""

    def csrf_of(page: httpx.Response) -> str:
        found = re.search(r'name="csrf" value="([^"]*)"', page.text)
        if found is None:
            raise RuntimeError(f"no CSRF field in {page.url}")
        return found.group(1)

    login_page = answer_of(client, "GET", "/console/login")
    form = {"username": user, "password": password, "csrf": csrf_of(login_page)}
    answer = answer_of(client, "POST", "/console/login", data=form)
    if answer.status_code != 303:
        raise RuntimeError(f"login as {user} answered {answer.status_code}")
    return csrf_of(answer_of(client, "GET", "/console/"))


def wechat_callback_intrusions(url: str, token: str = "chaos-callback-token") -> tuple[int, int]:
    """Callbacks that did not come from WeChat: no signature, another token's signature,
    and a correctly signed one replayed an hour later. Each must be refused (403)."""
    body = "<xml><MsgType>event</MsgType><Event>PUBLISHJOBFINISH</Event></xml>"

    def signed(timestamp: int, key: str = token) -> dict[str, str]:
        nonce = "n0nce"
        digest = hashlib.sha1("".join(sorted([key, str(timestamp), nonce])).encode()).hexdigest()
        return {"signature": digest, "timestamp": str(timestamp), "nonce": nonce}

    now = int(time.time())
    forgeries: list[dict[str, str]] = [{}, signed(now, "not-our-token"), signed(now - 3600)]
    with httpx.Client(base_url=url, timeout=30) as client:
        answers = [
            answer_of(client, "POST", "/wechat/callback/wechat", params=p, content=body) for p in forgeries
        ]
    return len(forgeries), sum(a.is_success for a in answers)


class Tripwire:
    """A loopback port standing for an internal service: it counts every connection
    it accepts. Body images of the SSRF campaign point at it; govpub must never connect."""

    def __init__(self) -> None:
        import socket
        import threading

        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


def ssrf_attempts(url: str, token: str, port: int) -> int:
    """Items whose body images point at an internal service on loopback ``port``, written
    every way an attacker would; the WeChat channel must fetch none of them. Returns
    the number of addresses tried (each item still goes out, images as alt text)."""
    targets = [
        f"http://127.0.0.1:{port}/latest/meta-data/",
        f"http://localhost:{port}/a.png",
        f"http://[::ffff:127.0.0.1]:{port}/a.png",
        f"http://2130706433:{port}/a.png",
        f"http://0.0.0.0:{port}/a.png",
        f"//127.0.0.1:{port}/a.png",
    ]
    body = "".join(f'<p><img src="{t}" alt="内网{n}"></p>' for n, t in enumerate(targets, 1))
    with httpx.Client(base_url=url, headers={"authorization": f"Bearer {token}"}, timeout=30) as client:
        for n in range(1, 4):
            item = _item(id=f"ssrf-{n}", title=f"内网图片探测 {n}", body_html=body)
            answer_of(client, "POST", "/v1/items", json=item)
    return 3 * len(targets)


def login_flood(url: str, cluster: Any, guessers: int = 8, seconds: float = 15.0) -> tuple[int, int]:
    """Guessers in parallel against one operator's password, as fast as the server
    answers, for ``seconds``. Returns (guesses tried, guesses checked beyond what the
    throttle allows: the lock's count plus the hashing slots of each serve process)."""
    from pipeline.console.auth import Accounts

    accounts = Accounts(cluster.services.engine, cluster.services.clock)
    until_up(lambda: accounts.add("chaos.flooded", "admin", "chaos-" + "y" * 16))
    console = cluster.settings.console
    allowed = console.login_lock_after + console.password_checks_at_once
    answers: list[int] = []
    stop_at = time.monotonic() + seconds

    def guess(n: int) -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            page = answer_of(client, "GET", "/console/login")
            csrf = re.search(r'name="csrf" value="([^"]*)"', page.text)
            form = {"username": "chaos.flooded", "csrf": csrf.group(1) if csrf else ""}
            while time.monotonic() < stop_at:
                form["password"] = f"guess-{n}-{len(answers)}"
                answers.append(answer_of(client, "POST", "/console/login", data=form).status_code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(guessers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(answers), max(0, answers.count(401) - allowed) + sum(a not in (401, 429) for a in answers)
