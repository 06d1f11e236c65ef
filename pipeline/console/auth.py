"""Who may use the console: accounts, sessions, CSRF tokens and roles.

- Accounts live in ``console_users`` with argon2id hashes (argon2-cffi's defaults,
  re-hashed on login when those defaults grow). Roles: ``operator`` acts within its
  agencies, ``auditor`` reads within its agencies (or everywhere: ``platform``),
  ``admin`` acts on every agency (:func:`pipeline.tenancy.user_reach`).
- Sessions are server-side rows keyed by the SHA-256 of a random cookie value, so
  a copy of the database holds no usable session, logout really ends one, and
  removing an account ends all of its sessions. A session expires after
  ``console.session_idle_minutes`` without a request and
  ``console.session_max_hours`` after login, whichever comes first.
- CSRF: every form carries ``HMAC(secret_key, session id)``; the login form, which
  has no session yet, is bound the same way to a short-lived cookie. Cookies are
  SameSite=Lax and HttpOnly on top of that.

``settings.secret_key`` (``GOVPUB_SECRET_KEY``) keys the HMACs; when it is not set
a random key is created once under ``data_dir`` so a fresh machine works. Several
``govpub serve`` processes behind one nginx must share it (set the variable).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, delete, insert, select, update

from pipeline import db
from pipeline.config import Settings
from pipeline.console.tables import console_sessions, console_user_agencies, console_users
from pipeline.tenancy import Reach, user_reach

Role = Literal["operator", "auditor", "admin"]
ROLES: tuple[Role, ...] = ("operator", "auditor", "admin")
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
SESSION_COOKIE = "govpub_session"
LOGIN_COOKIE = "govpub_login"
TOUCH_EVERY = timedelta(seconds=60)  # how stale last_seen_at may get before we write it
NOWHERE = Reach(frozenset(), can_act=False)


@dataclass(frozen=True)
class User:
    """A logged-in console user (or an operator API token's owner) and its reach; a
    User built without one reaches nothing."""

    username: str
    role: Role
    session_hash: str = ""
    reach: Reach = NOWHERE

    @property
    def may_act(self) -> bool:
        return self.role in ("operator", "admin") and self.reach.can_act


@dataclass(frozen=True)
class Account:
    """A row of ``govpub users list``."""

    username: str
    role: str
    platform: bool
    agencies: tuple[str, ...]
    created_at: datetime
    has_token: bool


def checked_scope(conn: Connection, role: str, agencies: list[str], platform: bool) -> list[str]:
    """The agencies an account of ``role`` is scoped to, checked: an admin has none (it
    reaches all), a platform auditor none; an operator or an agency auditor needs at
    least one registered, active agency (the only active one when none is named)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {list(ROLES)}")
    if platform and role != "auditor":
        raise ValueError("--platform is for auditors (an admin reaches every agency by its role)")
    if role == "admin" or platform:
        if agencies:
            raise ValueError(
                f"a {'platform auditor' if platform else 'admin'} takes no --agency: it reaches all"
            )
        return []
    rows = {r.code: r for r in conn.execute(select(db.agencies.c.code, db.agencies.c.retired_at))}
    active = sorted(code for code, row in rows.items() if row.retired_at is None)
    if not agencies:
        if len(active) == 1:
            return active
        listed = ", ".join(active[:10]) or "none registered (govpub agencies add)"
        raise ValueError(f"an {role} needs --agency CODE (agencies: {listed})")
    for code in agencies:
        if code not in rows:
            raise ValueError(f"no agency {code} is registered (govpub agencies list)")
        if rows[code].retired_at is not None:
            raise ValueError(f"agency {code} is retired: scope users to an active agency")
    return sorted(set(agencies))


def load_secret_key(settings: Settings) -> bytes:
    """The configured key, or one generated once and kept in ``data_dir/secret_key``."""
    if settings.secret_key is not None and settings.secret_key.get_secret_value():
        return settings.secret_key.get_secret_value().encode()
    path = Path(settings.data_dir) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text("ascii").strip().encode()
    with os.fdopen(fd, "w", encoding="ascii") as out:
        key = secrets.token_urlsafe(48)
        out.write(key + "\n")
    return key.encode()


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class Accounts:
    """Console users and their passwords."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine, self.clock = engine, clock
        self.hasher = PasswordHasher()

    @cached_property
    def _dummy(self) -> str:
        """Verified against when the user is unknown, so both take as long."""
        return self.hasher.hash(secrets.token_urlsafe(16))

    def add(
        self,
        username: str,
        role: str,
        password: str | None = None,
        *,
        agencies: list[str] | tuple[str, ...] = (),
        platform: bool = False,
    ) -> str:
        """Create or reset an account with its scope (:func:`checked_scope`); returns the
        password (generated when not given). Nothing is written when anything is wrong."""
        if not USERNAME.fullmatch(username):
            raise ValueError("user names: letters, digits, '_', '.', '@', '-' (at most 64)")
        if role not in ROLES:
            raise ValueError(f"role must be one of {list(ROLES)}")
        password = password or secrets.token_urlsafe(12)
        if len(password) < 10:
            raise ValueError("passwords need at least 10 characters")
        values = {
            "password_hash": self.hasher.hash(password),
            "role": role,
            "platform": platform,
            "disabled_at": None,
        }
        with self.engine.begin() as conn:
            codes = checked_scope(conn, role, list(agencies), platform)
            done = conn.execute(
                update(console_users).where(console_users.c.username == username).values(**values)
            ).rowcount
            if not done:
                conn.execute(
                    insert(console_users).values(username=username, created_at=self.clock(), **values)
                )
            self._write_scope(conn, username, codes)
            conn.execute(delete(console_sessions).where(console_sessions.c.username == username))
        return password

    def scope(self, username: str, agencies: list[str]) -> list[str]:
        """Scope an account to these agencies, replacing its scope; its sessions end
        (they carry the old reach). An admin becomes an operator of them and a platform
        auditor an auditor of them (how an upgraded installation's accounts, all
        platform-wide after ``0011_agencies``, are narrowed). Returns the codes written."""
        with self.engine.begin() as conn:
            row = conn.execute(select(console_users).where(console_users.c.username == username)).first()
            if row is None:
                raise ValueError(f"no console user {username}")
            if not agencies:
                raise ValueError("name at least one --agency CODE")
            role = "operator" if row.role == "admin" else row.role
            codes = checked_scope(conn, role, agencies, False)
            conn.execute(
                update(console_users)
                .where(console_users.c.username == username)
                .values(role=role, platform=False)
            )
            self._write_scope(conn, username, codes)
            conn.execute(delete(console_sessions).where(console_sessions.c.username == username))
        return codes

    @staticmethod
    def _write_scope(conn: Connection, username: str, codes: list[str]) -> None:
        conn.execute(delete(console_user_agencies).where(console_user_agencies.c.username == username))
        if codes:
            conn.execute(
                insert(console_user_agencies), [{"username": username, "agency_code": c} for c in codes]
            )

    def issue_token(self, username: str) -> str:
        """A new operator API token for the account (the old one stops working); kept
        only as its SHA-256, shown once."""
        token = secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            done = conn.execute(
                update(console_users)
                .where(console_users.c.username == username)
                .values(api_token_hash=_digest(token))
            ).rowcount
        if not done:
            raise ValueError(f"no console user {username}")
        return token

    def for_token(self, token: str) -> User | None:
        """The enabled account an operator API token belongs to, with its reach."""
        if not token:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(
                select(console_users).where(
                    console_users.c.api_token_hash == _digest(token), console_users.c.disabled_at.is_(None)
                )
            ).first()
            if row is None:
                return None
            return User(row.username, row.role, reach=user_reach(conn, row.username, row.role, row.platform))

    def remove(self, username: str) -> bool:
        with self.engine.begin() as conn:
            conn.execute(delete(console_sessions).where(console_sessions.c.username == username))
            conn.execute(delete(console_user_agencies).where(console_user_agencies.c.username == username))
            return bool(
                conn.execute(delete(console_users).where(console_users.c.username == username)).rowcount
            )

    def list(self) -> list[Account]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(console_users).order_by(console_users.c.username)).all()
            scopes: dict[str, list[str]] = {}
            for link in conn.execute(
                select(console_user_agencies).order_by(console_user_agencies.c.agency_code)
            ):
                scopes.setdefault(link.username, []).append(link.agency_code)
        return [
            Account(
                r.username,
                r.role,
                bool(r.platform),
                tuple(scopes.get(r.username, ())),
                r.created_at,
                r.api_token_hash is not None,
            )
            for r in rows
        ]

    def verify(self, username: str, password: str) -> User | None:
        """The user if the password is right; as slow for unknown names as for known ones."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(console_users).where(
                    console_users.c.username == username, console_users.c.disabled_at.is_(None)
                )
            ).first()
        try:
            self.hasher.verify(row.password_hash if row else self._dummy, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        if self.hasher.check_needs_rehash(row.password_hash):
            with self.engine.begin() as conn:
                conn.execute(
                    update(console_users)
                    .where(console_users.c.username == username)
                    .values(password_hash=self.hasher.hash(password))
                )
        return User(row.username, row.role)


class Sessions:
    """Server-side sessions with an idle and an absolute expiry."""

    def __init__(self, engine: Engine, settings: Settings, clock: Callable[[], datetime]) -> None:
        self.engine, self.clock = engine, clock
        self.idle = timedelta(minutes=settings.console.session_idle_minutes)
        self.max_age = timedelta(hours=settings.console.session_max_hours)

    def start(self, user: User) -> str:
        """A new session; returns the cookie value (kept only hashed)."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        with self.engine.begin() as conn:
            conn.execute(delete(console_sessions).where(console_sessions.c.expires_at < now))
            conn.execute(
                insert(console_sessions).values(
                    id_hash=_digest(token),
                    username=user.username,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + self.max_age,
                )
            )
        return token

    def user(self, token: str) -> User | None:
        """Whose session this is, or None when unknown, idle too long or expired."""
        if not token:
            return None
        now, key = self.clock(), _digest(token)
        with self.engine.connect() as conn:
            row = conn.execute(
                select(console_sessions, console_users.c.role, console_users.c.platform)
                .join(console_users, console_users.c.username == console_sessions.c.username)
                .where(console_sessions.c.id_hash == key, console_users.c.disabled_at.is_(None))
            ).first()
            if row is None:
                return None
            reach = user_reach(conn, row.username, row.role, row.platform)
        if row.expires_at <= now or row.last_seen_at + self.idle <= now:
            self.end(token)
            return None
        if now - row.last_seen_at > TOUCH_EVERY:
            with self.engine.begin() as conn:
                conn.execute(
                    update(console_sessions).where(console_sessions.c.id_hash == key).values(last_seen_at=now)
                )
        return User(row.username, row.role, key, reach)

    def end(self, token: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(console_sessions).where(console_sessions.c.id_hash == _digest(token)))


class Csrf:
    """Tokens bound to a session (or to the login cookie) by an HMAC."""

    def __init__(self, secret: bytes) -> None:
        self.secret = secret

    def token(self, binding: str) -> str:
        return hmac.new(self.secret, f"csrf:{binding}".encode(), hashlib.sha256).hexdigest()

    def valid(self, binding: str, token: str) -> bool:
        return bool(binding) and hmac.compare_digest(self.token(binding), token or "")
