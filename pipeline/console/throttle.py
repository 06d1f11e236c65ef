"""Login throttling: wrong passwords slow down, then lock, an account and an address.

Counted per account name (known or not, so a locked name says nothing about whether
it exists) and per client address (an IPv6 /64 counts as one address: one machine
holds all of it). After ``login_free_failures`` wrong passwords an account's next try
must wait 1 s, then 2, 4 … (at most a minute); at ``login_lock_after`` it is locked for
``login_lock_minutes``, twice as long with every further wrong password. An address
gets the same from ``login_lock_after`` and ``address_lock_after`` on, so an office
behind one NAT can mistype now and then. A try that must wait is refused with 429 and
``Retry-After`` before any password is hashed, so it costs next to nothing. A right
password clears its account's count (not the address's: one's own account must not
reset a sprayer's count); counts are forgotten a day after their last failure.

The counters live in the database (``console_login_throttle``), so every ``govpub
serve`` process behind nginx refuses a guesser alike, in the embedded mode (SQLite)
as in production (PostgreSQL). Each wrong password and each lock is written to the
audit log in the same transaction; tries refused while waiting are not (that would let
a flood write to the database at will), they are counted in
``govpub_console_logins_total{outcome="throttled"}``.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Insert, case, delete, select, update

from pipeline.config import ConsoleSettings
from pipeline.console.audit import audit_row
from pipeline.console.tables import console_login_throttle as T
from pipeline.db import upsert

FORGET_AFTER = timedelta(days=1)
MAX_DELAY = timedelta(minutes=1)
MAX_LOCK = timedelta(days=1)


@dataclass(frozen=True)
class Policy:
    """When one kind of key (account or address) waits and when it locks."""

    free: int
    lock_after: int
    lock: timedelta

    def blocked_for(self, failures: int) -> timedelta:
        """How long the next try waits after ``failures`` wrong passwords in a row."""
        if failures >= self.lock_after:
            return min(self.lock * 2 ** (failures - self.lock_after), MAX_LOCK)
        if failures > self.free:
            return min(timedelta(seconds=2 ** (failures - self.free - 1)), MAX_DELAY)
        return timedelta(0)


def address_key(host: str) -> str:
    """``address:1.2.3.4``; an IPv6 address by its /64."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return f"address:{host[:64]}"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return f"address:{ip.ipv4_mapped}"
        return f"address:{ipaddress.ip_network(f'{ip}/64', strict=False)}"
    return f"address:{ip}"


def account_key(username: str) -> str:
    return f"account:{username[:64]}"


class LoginThrottle:
    def __init__(self, engine: Engine, settings: ConsoleSettings, clock: Callable[[], datetime]) -> None:
        self.engine, self.clock = engine, clock
        lock = timedelta(minutes=settings.login_lock_minutes)
        self.account = Policy(settings.login_free_failures, settings.login_lock_after, lock)
        self.address = Policy(settings.login_lock_after, settings.address_lock_after, lock)

    def wait_seconds(self, username: str, host: str) -> int:
        """Seconds before this account may be tried from this address (0: go ahead)."""
        now = self.clock()
        with self.engine.connect() as conn:
            until = conn.execute(
                select(T.c.blocked_until).where(
                    T.c.key.in_([account_key(username), address_key(host)]), T.c.blocked_until > now
                )
            ).scalars()
            latest = max(until, default=None)
        return math.ceil((latest - now).total_seconds()) if latest else 0

    def failed(self, username: str, host: str) -> None:
        """Count a wrong password for the account and the address; audit it, and any lock
        it starts, in the same transaction."""
        now = self.clock()
        with self.engine.begin() as conn:
            conn.execute(delete(T).where(T.c.last_failure_at < now - FORGET_AFTER))
            conn.execute(audit_row(now, username[:64], "login_failed", f"来自 {host}"))
            for key, policy in ((account_key(username), self.account), (address_key(host), self.address)):
                failures = self._count(conn, key, host, now, policy)
                if failures >= policy.lock_after:
                    conn.execute(_lock_entry(now, key, failures, policy, host))

    def succeeded(self, username: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(T).where(T.c.key == account_key(username)))

    def unlock(self, key: str) -> bool:
        with self.engine.begin() as conn:
            return bool(conn.execute(delete(T).where(T.c.key == key)).rowcount)

    def blocked(self) -> list[dict[str, Any]]:
        """Accounts and addresses that must wait now, longest first (for the console)."""
        now = self.clock()
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(T).where(T.c.blocked_until > now).order_by(T.c.blocked_until.desc()).limit(200)
            ).all()
        out = []
        for row in rows:
            what, name = row.key.split(":", 1)
            policy = self.account if what == "account" else self.address
            out.append(
                {**row._mapping, "what": what, "name": name, "locked": row.failures >= policy.lock_after}
            )
        return out

    @staticmethod
    def _count(conn: Connection, key: str, host: str, now: datetime, policy: Policy) -> int:
        """Add one failure to ``key`` (starting afresh when it was forgotten) and block it
        for as long as the count asks; returns the count. One upsert, so two serve
        processes counting the same key at once both count."""
        forgotten = T.c.last_failure_at < now - FORGET_AFTER
        failures = conn.execute(
            upsert(conn, T)
            .values(key=key, failures=1, last_failure_at=now, last_address=host[:64])
            .on_conflict_do_update(
                index_elements=[T.c.key],
                set_={
                    "failures": case((forgotten, 1), else_=T.c.failures + 1),
                    "last_failure_at": now,
                    "last_address": host[:64],
                },
            )
            .returning(T.c.failures)
        ).scalar_one()
        blocked_until = now + policy.blocked_for(failures)
        conn.execute(update(T).where(T.c.key == key).values(blocked_until=blocked_until))
        return int(failures)


def _lock_entry(now: datetime, key: str, failures: int, policy: Policy, host: str) -> Insert:
    what, name = key.split(":", 1)
    minutes = round(policy.blocked_for(failures).total_seconds() / 60)
    words = {"account": "账号", "address": "地址"}[what]
    detail = f"{words} {name} 连续 {failures} 次密码错误，锁定 {minutes} 分钟（最近一次来自 {host}）"
    return audit_row(now, name if what == "account" else "-", "login_locked", detail)
