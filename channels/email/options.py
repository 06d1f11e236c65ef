"""The e-mail channel's options (``[channels.NAME.options]``), checked at start-up.

An agency overlay (``[agencies.CODE.channels.NAME]``) may give its own ``newsrooms``,
``sender`` or relay; subscriptions stay the instance's."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from channels.kit import secrets
from pipeline.errors import ConfigError

ADDRESS = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$"
)
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def valid_address(address: str) -> bool:
    """A plain mailbox (no display name, no header-breaking characters)."""
    return len(address) <= 254 and bool(ADDRESS.match(address)) and ".." not in address


class EmailOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    smtp_host: str = Field(default="127.0.0.1", min_length=1)  # the relay
    smtp_port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"  # ssl: SMTPS (465); none: loopback only
    tls_ca_file: Path | None = None  # trust this CA (a private relay's, the sandbox's)
    username: str | None = None  # AUTH user; its password in password_env / password_file
    password_env: str | None = None
    password_file: Path | None = None
    sender: str = Field(min_length=3)  # the From address, e.g. gongkai@example.gov.cn
    sender_name: str = "政府信息公开"
    newsrooms: list[str] = Field(default_factory=list)  # newsroom addresses: each item as it goes live
    subscriptions: bool = True  # citizens may subscribe on /subscribe/NAME
    digest: bool = True  # subscribers may choose a daily digest (false: one message per item only)
    digest_time: str = "08:00"  # local time of the daily digest
    signing_key_env: str | None = "GOVPUB_EMAIL_SIGNING_KEY"  # signs confirmation/unsubscribe links
    signing_key_file: Path | None = None
    confirm_within_hours: int = Field(default=72, ge=1, le=24 * 30)
    timeout_seconds: float = Field(default=30.0, gt=0, le=300)

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        if not valid_address(value):
            raise ValueError("a plain address such as gongkai@example.gov.cn")
        return value

    @field_validator("newsrooms")
    @classmethod
    def _newsrooms(cls, value: list[str]) -> list[str]:
        bad = [a for a in value if not valid_address(a)]
        if bad:
            raise ValueError(f"not plain addresses: {', '.join(bad)}")
        return value

    @field_validator("digest_time")
    @classmethod
    def _digest_time(cls, value: str) -> str:
        if not HHMM.match(value):
            raise ValueError("HH:MM, e.g. 08:00")
        return value


def parse_options(name: str, raw: dict[str, Any]) -> EmailOptions:
    """Validated options, or a ConfigError naming the key (a literal secret too)."""
    return secrets.parse_options(EmailOptions, name, raw)


def check(name: str, options: EmailOptions) -> None:
    """The secrets the options need can be read now; AUTH and the relay agree."""
    key = f"channels.{name}.options"
    if options.username is not None:
        if options.password_env is None and options.password_file is None:
            raise ConfigError(
                f"{key}.password_env", None, "AUTH needs the password: set password_env or password_file"
            )
        secrets.read_secret(options, "password", key=key, label="the SMTP password")
        if options.security == "none" and options.smtp_host not in ("127.0.0.1", "::1", "localhost"):
            raise ConfigError(
                f"{key}.security", "none", "starttls or ssl: a password never crosses the network in clear"
            )
    if options.subscriptions:
        if options.signing_key_env is None and options.signing_key_file is None:
            raise ConfigError(f"{key}.signing_key_env", None, "subscriptions need a key to sign their links")
        secrets.read_secret(options, "signing_key", key=key, label="the key signing subscription links")
    if options.tls_ca_file is not None and not options.tls_ca_file.is_file():
        raise ConfigError(f"{key}.tls_ca_file", str(options.tls_ca_file), "a readable PEM file")
    if not options.subscriptions and not options.newsrooms:
        raise ConfigError(f"{key}.newsrooms", "[]", "newsroom addresses, or subscriptions = true")
