"""Login throttling through the app (SQLite and PostgreSQL): waits, locks, the hashing
bound, the audit log and the 登录安全 page. Against a running serve: tests/attacks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from pipeline.app import create_app
from pipeline.console.tables import audit_log
from pipeline.console.throttle import Policy, address_key
from pipeline.services import Services
from tests.pipeline.console_support import PASSWORD, add_user, form_value, login


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(services: Services) -> Clock:
    moved = Clock()
    services.clock = moved
    return moved


@pytest.fixture
def client(services: Services, clock: Clock) -> Iterator[TestClient]:
    add_user(services, "li.wei", "operator")
    add_user(services, "wang", "operator")
    with TestClient(create_app(services.settings, services)) as client:
        yield client


def try_login(client: TestClient, name: str, password: str) -> Any:
    page = client.get("/console/login")
    form = {"username": name, "password": password, "csrf": form_value(page.text, "csrf")}
    return client.post("/console/login", data=form, follow_redirects=False)


def audit_actions(services: Services) -> list[tuple[str, str]]:
    with services.engine.connect() as conn:
        rows = conn.execute(select(audit_log.c.action, audit_log.c.username).order_by(audit_log.c.id))
        return [(r.action, r.username) for r in rows]


def test_wrong_passwords_slow_then_lock_the_account_even_for_the_right_password(
    client: TestClient, services: Services, clock: Clock
) -> None:
    for _ in range(4):  # login_free_failures (3) pass without a wait; the 4th starts one
        assert try_login(client, "li.wei", "wrong password").status_code == 401
    waiting = try_login(client, "li.wei", PASSWORD)
    assert waiting.status_code == 429 and waiting.headers["retry-after"] == "1"
    assert "密码错误次数过多" in waiting.text
    for _ in range(6):  # each wait honoured: up to login_lock_after (10) wrong passwords
        clock.advance(seconds=61)
        assert try_login(client, "li.wei", "wrong password").status_code == 401
    clock.advance(seconds=61)
    locked = try_login(client, "li.wei", PASSWORD)
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) == 15 * 60 - 61
    actions = audit_actions(services)
    assert actions.count(("login_failed", "li.wei")) == 10
    assert actions.count(("login_locked", "li.wei")) == 1
    clock.advance(minutes=15)
    assert try_login(client, "li.wei", PASSWORD).status_code == 303
    client.cookies.clear()
    assert try_login(client, "li.wei", "wrong password").status_code == 401  # the count starts afresh
    clock.advance(seconds=2)  # …but not the address's: its 11th wrong password asks for 1 s
    assert try_login(client, "li.wei", PASSWORD).status_code == 303


def test_one_address_spraying_many_names_is_locked_out(
    client: TestClient, services: Services, clock: Clock
) -> None:
    for n in range(30):  # address_lock_after, each under another name
        clock.advance(seconds=61)
        assert try_login(client, f"guess{n}", "wrong password").status_code == 401, n
    clock.advance(seconds=61)
    assert try_login(client, "wang", PASSWORD).status_code == 429
    assert ("login_locked", "-") in audit_actions(services)


def test_a_try_beyond_the_hashing_slots_is_refused_at_once_and_not_counted(
    client: TestClient, services: Services
) -> None:
    slots = client.app.state.console.login_slots  # type: ignore[attr-defined]
    for _ in range(services.settings.console.password_checks_at_once):
        assert slots.acquire(blocking=False)
    try:
        busy = try_login(client, "li.wei", "wrong password")
    finally:
        for _ in range(services.settings.console.password_checks_at_once):
            slots.release()
    assert busy.status_code == 429 and busy.headers["retry-after"] == "1"
    assert audit_actions(services) == []
    assert try_login(client, "li.wei", PASSWORD).status_code == 303


def test_operators_see_locks_and_failures_and_lift_a_lock(
    client: TestClient, services: Services, clock: Clock
) -> None:
    for _ in range(10):
        clock.advance(seconds=61)
        try_login(client, "li.wei", "wrong password")
    csrf = login(client, "wang")
    page = client.get("/console/security").text
    assert "账号 li.wei" in page and "已锁定" in page and "密码错误" in page and "登录被锁定" in page
    key = form_value(page, "key")
    assert key == "account:li.wei"
    answer = client.post("/console/security/unlock", data={"key": key, "csrf": csrf}, follow_redirects=False)
    assert answer.status_code == 303
    assert ("login_unlocked", "wang") in audit_actions(services)
    client.cookies.clear()
    assert try_login(client, "li.wei", PASSWORD).status_code == 303


@pytest.mark.parametrize(
    ("failures", "seconds"),
    [(3, 0), (4, 1), (5, 2), (9, 32), (10, 15 * 60), (11, 30 * 60), (30, 24 * 3600)],
)
def test_the_wait_grows_then_locks(failures: int, seconds: float) -> None:
    policy = Policy(free=3, lock_after=10, lock=timedelta(minutes=15))
    assert policy.blocked_for(failures) == timedelta(seconds=seconds)


def test_an_ipv6_client_counts_by_its_64() -> None:
    assert (
        address_key("2001:db8:1:2:aaaa::1")
        == address_key("2001:db8:1:2:bbbb::2")
        == "address:2001:db8:1:2::/64"
    )
    assert address_key("::ffff:192.0.2.7") == "address:192.0.2.7"
