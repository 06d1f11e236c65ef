"""The Weibo channel's options (``[channels.NAME.options]``), checked at start-up.

Secrets never sit in the file (:mod:`channels.kit.secrets`): the App Secret from
``app_secret_env``/``app_secret_file``, the account's access token (the operator's
authorisation) from ``access_token_env``/``access_token_file``, and optionally a refresh
token from ``refresh_token_env``/``refresh_token_file`` (apps Weibo grants one: tokens
then renew themselves; without one an operator re-authorises when the token expires).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field, field_validator

from channels.kit import secrets
from channels.kit.secrets import read_secret

APP_SECRET = "the Weibo App Secret"
ACCESS_TOKEN = "the Weibo access token (the account's authorisation)"
REFRESH_TOKEN = "the Weibo refresh token"


def _slashed(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("an http(s) URL")
    return value if value.endswith("/") else value + "/"


class WeiboOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    app_key: str = Field(pattern=r"^[A-Za-z0-9]{4,32}$")  # the App Key (client_id)
    # the app's registered safe domain (安全域名): every shared link must be under it
    safe_domain: str = Field(pattern=r"^[a-z0-9.-]+(:[0-9]+)?$")
    app_secret_env: str = "GOVPUB_WEIBO_APP_SECRET"
    app_secret_file: Path | None = None
    access_token_env: str = "GOVPUB_WEIBO_ACCESS_TOKEN"
    access_token_file: Path | None = None
    refresh_token_env: str | None = None
    refresh_token_file: Path | None = None
    api_base_url: str = "https://api.weibo.com/2/"
    oauth_base_url: str = "https://api.weibo.com/oauth2/"
    redirect_uri: str = "https://api.weibo.com/oauth2/default.html"  # for re-authorisation
    post_url: str = "https://m.weibo.cn/status/{id}"  # a post's public address ({id}, {uid})
    hourly_limit: int = Field(default=30, ge=1, le=1000)  # posts per account and hour
    renew_before_seconds: float = Field(default=86_400, ge=0)  # renew this long before expiry
    with_summary: bool = True  # the summary after the title, when the post has room for it
    with_cover: bool = True  # the item's cover image as the post's picture
    timeout_seconds: float = Field(default=15.0, gt=0, le=120)

    @field_validator("api_base_url", "oauth_base_url")
    @classmethod
    def _slash(cls, value: str) -> str:
        return _slashed(value)

    @property
    def token_url(self) -> str:
        return self.oauth_base_url + "access_token"

    @property
    def token_info_url(self) -> str:
        return self.oauth_base_url + "get_token_info"

    def authorize_url(self) -> str:
        """Where an operator re-authorises the app for the account (OAuth2 code flow)."""
        query = urlencode({"client_id": self.app_key, "redirect_uri": self.redirect_uri})
        return f"{self.oauth_base_url}authorize?{query}"

    def token_source(self) -> str:
        """Where the access token is configured, in words an operator acts on."""
        if self.access_token_file is not None:
            return f"the file {self.access_token_file} (access_token_file)"
        return f"the environment variable {self.access_token_env} (access_token_env)"


def parse_options(name: str, raw: dict[str, Any]) -> WeiboOptions:
    """Validated options, or a ConfigError naming the key (a literal secret too)."""
    return secrets.parse_options(WeiboOptions, name, raw)


def check_options(name: str, raw: dict[str, Any]) -> None:
    """:func:`parse_options`, and every secret readable where its option says."""
    options = parse_options(name, raw)
    key = f"channels.{name}.options"
    read_secret(options, "app_secret", key=key, label=APP_SECRET)
    read_secret(options, "access_token", key=key, label=ACCESS_TOKEN)
    read_secret(options, "refresh_token", key=key, label=REFRESH_TOKEN)
