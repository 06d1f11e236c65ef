"""The WeChat channel's options (``[channels.NAME.options]``), checked at start-up.

No secret sits in the TOML file (the one secrets policy of :mod:`channels.kit.secrets`):
the AppSecret comes from the variable named by ``secret_env`` or from ``secret_file``,
the callback's token and EncodingAESKey from ``token_env``/``token_file`` and
``encoding_aes_key_env``/``encoding_aes_key_file``; a literal ``secret``, ``token`` or
``encoding_aes_key`` option stops start-up. The callback's two are optional: without a
token no callback is served here (the sweeper polls), without a key only plain mode.
"""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from channels.kit import secrets
from channels.kit.secrets import read_secret
from pipeline.errors import ConfigError

DEFAULT_API = "https://api.weixin.qq.com/cgi-bin/"
APPSECRET = "the WeChat AppSecret (开发者密码)"
CALLBACK_TOKEN = "the callback token (服务器配置 → 令牌)"
AES_KEY = "the callback EncodingAESKey (消息加解密密钥)"
QUOTA = {"subscription": 1, "service": 4}  # mass sends per day (订阅号) / per month (服务号)


class WeChatOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    appid: str = Field(pattern=r"^[A-Za-z0-9_-]{4,64}$")
    secret_env: str = "GOVPUB_WECHAT_SECRET"
    secret_file: Path | None = None
    # the callback's secrets, optional: no token, no callback; no key, plain mode only
    token_env: str | None = None
    token_file: Path | None = None
    encoding_aes_key_env: str | None = None
    encoding_aes_key_file: Path | None = None
    api_base_url: str = DEFAULT_API
    token_url: str | None = None
    stable_token: bool = False
    redis_url: str | None = None
    timeout_seconds: float = Field(default=15.0, gt=0, le=120)
    mode: Literal["publish", "broadcast"] = "publish"
    account_type: Literal["subscription", "service"] = "subscription"
    broadcast_time: time = time(18, 0)
    # items accepted before the cut-off go into that day's send; default: the preview
    # time with previews, else broadcast_time
    cutoff: time | None = None
    preview_to: list[str] = Field(default_factory=list, max_length=20)  # operators' 微信号 or openids
    preview_minutes: float = Field(default=30, ge=0, le=720)  # the preview goes this long before the send
    overflow: Literal["wait", "publish"] = "wait"
    max_articles: int = Field(default=8, ge=1, le=8)
    default_cover: Path | None = None
    cover_font: Path | None = None
    author: str = Field(default="", max_length=16)
    # A body image that cannot be fetched: "alt" shows its alt text ([图片：…]) and the
    # article goes out; "fail" holds the item (dead, for an operator) until it can be.
    missing_images: Literal["alt", "fail"] = "alt"
    poll_seconds: float = Field(default=60.0, gt=0, le=86_400)
    lost_submit_checks: int = Field(default=10, ge=1, le=1000)

    @field_validator("api_base_url")
    @classmethod
    def _slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("an http(s) URL such as https://api.weixin.qq.com/cgi-bin/")
        return value if value.endswith("/") else value + "/"

    @property
    def token_endpoint(self) -> str:
        """Where tokens come from: ``token_url`` or the API base's token/stable_token."""
        if self.token_url:
            return self.token_url
        return self.api_base_url + ("stable_token" if self.stable_token else "token")

    @property
    def quota(self) -> int:
        return QUOTA[self.account_type]

    @property
    def preview_time(self) -> time | None:
        """When the day's send is previewed on the operators' phones (None: no previews)."""
        if not self.preview_to:
            return None
        at = self.broadcast_time
        seconds = at.hour * 3600 + at.minute * 60 + at.second - round(self.preview_minutes * 60)
        return time(seconds // 3600, seconds // 60 % 60, seconds % 60) if seconds >= 0 else None

    @property
    def cutoff_time(self) -> time:
        """When a day's send is gathered (and its draft made, ready for the preview)."""
        return self.cutoff or self.preview_time or self.broadcast_time

    def secret(self) -> str:
        """The AppSecret, read when a token is fetched (so it can be rotated without restart)."""
        return str(read_secret(self, "secret", label=APPSECRET))

    def callback_token(self) -> str | None:
        """The token callbacks are signed with, read per callback (rotated without restart);
        None: no callback is configured for this account."""
        return read_secret(self, "token", label=CALLBACK_TOKEN)

    def callback_aes_key(self, key: str = "options") -> str | None:
        """The EncodingAESKey of safe mode, read per callback; None: plain mode only. A
        ConfigError (naming ``key``.encoding_aes_key_…) when it is not 43 letters and digits."""
        value = read_secret(self, "encoding_aes_key", key=key, label=AES_KEY)
        if value is not None and not re.fullmatch(r"[A-Za-z0-9]{43}", value):
            source = "encoding_aes_key_file" if self.encoding_aes_key_file else "encoding_aes_key_env"
            raise ConfigError(f"{key}.{source}", "***", "43 letters and digits, as the MP console shows it")
        return value


def parse_options(name: str, raw: dict[str, Any]) -> WeChatOptions:
    """Validate (the AppSecret never written in it: :mod:`channels.kit.secrets`), turning
    pydantic's complaint into one ConfigError with the key."""
    options = secrets.parse_options(WeChatOptions, name, raw)
    _check_times(name, options)
    for key in ("default_cover", "cover_font"):
        path = getattr(options, key)
        if path is not None and not path.is_file():
            raise ConfigError(f"channels.{name}.options.{key}", str(path), "a path to an existing file")
    return options


def check_options(name: str, raw: dict[str, Any]) -> None:
    """:func:`parse_options`, and every secret is where its ``X_env`` or ``X_file`` says
    (read, never shown; the EncodingAESKey's form checked), so a missing or malformed one
    stops start-up rather than the first delivery or callback."""
    options = parse_options(name, raw)
    key = f"channels.{name}.options"
    read_secret(options, "secret", key=key, label=APPSECRET)
    read_secret(options, "token", key=key, label=CALLBACK_TOKEN)
    options.callback_aes_key(key)


def _check_times(name: str, options: WeChatOptions) -> None:
    """The day's send is gathered at the cut-off, previewed, then sent: in that order,
    on one day."""
    key = f"channels.{name}.options"
    if options.preview_to and options.preview_time is None:
        raise ConfigError(
            f"{key}.preview_minutes",
            options.preview_minutes,
            f"at most the minutes from midnight to broadcast_time {options.broadcast_time:%H:%M}",
        )
    latest = options.preview_time or options.broadcast_time
    if options.cutoff is not None and options.cutoff > latest:
        raise ConfigError(
            f"{key}.cutoff",
            options.cutoff.strftime("%H:%M"),
            f"a time no later than {latest:%H:%M} (the preview, or else the send): the send is "
            "gathered at the cut-off",
        )
    for who in options.preview_to:
        if not re.fullmatch(r"[A-Za-z0-9_-]{5,64}", who):
            raise ConfigError(f"{key}.preview_to", who, "a WeChat ID (微信号) or an openid")
