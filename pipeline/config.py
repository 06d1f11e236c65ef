"""Settings: one TOML file plus ``GOVPUB_…`` environment variables.

Precedence: explicit arguments > environment > TOML file > defaults. The file is
``govpub.toml`` in the working directory or the path in ``GOVPUB_CONFIG``; no
file at all gives the embedded default (SQLite under ./var, in-process worker).
Nested keys use ``__`` in the environment: ``GOVPUB_CHANNELS__WEBSITE__RATE_LIMIT``.
Secrets may also come from files: with ``GOVPUB_SECRETS_DIR`` set, a file there named
after a top-level setting's variable (``GOVPUB_SECRET_KEY``, ``GOVPUB_DATABASE_URL``; any
case) holds its value. That is how Docker and Kubernetes secrets and systemd credentials
reach govpub without putting them in the environment or in the image.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from pipeline.errors import ConfigError
from pipeline.outbound import OutboundSettings

OptionsT = TypeVar("OptionsT", bound=BaseModel)

SUBCLASSES = [
    "综合性业务",
    "人事管理",
    "财务管理",
    "基础教育",
    "职业与成人教育",
    "学校体育与卫生教育",
    "招生考试",
]
DEFAULT_TAXONOMY: dict[str, list[str]] = {
    "政策法规": SUBCLASSES,
    "规划计划": SUBCLASSES,
    "业务工作": SUBCLASSES,
    "其他信息": SUBCLASSES,
}


class ChannelConfig(BaseModel):
    """One configured channel instance; ``kind`` names its class in the registry."""

    kind: str
    enabled: bool = True
    rate_limit: str | None = Field(default=None, pattern=r"^\d+(\.\d+)?/[smh]$")
    max_attempts: int | None = Field(default=None, ge=1, le=100)
    depends_on: list[str] = Field(default_factory=list)
    options: dict[str, Any] = Field(default_factory=dict)
    # the agencies this instance serves (with ``include_children``, their descendants
    # too); None: every agency. A per-agency archive receiver names its agency here.
    agencies: list[str] | None = None
    include_children: bool = False


AgencyKind = Literal["government", "department", "town", "subdistrict"]
AGENCY_PATH = r"^[a-z0-9][a-z0-9-]{0,39}$"


class AgencyChecks(BaseModel):
    """``[agencies.CODE.checks]``: the agency's own lexicons (added to the platform's)
    and per-channel actions (over the platform's), docs/checks.md."""

    model_config = {"extra": "forbid"}

    lexicons: list[str] = Field(default_factory=list)
    channels: dict[str, Literal["warn", "hold"]] = Field(default_factory=dict)


NEWS_WORDS = ["动态", "要闻", "新闻", "资讯"]


class FreshnessLimits(BaseModel):
    """How long a column or a 政务新媒体 account may go without a new publication: the
    defaults are the inspection indicators' (国办秘函〔2019〕19号): two weeks for an
    account and for a news-like column (its name has one of ``news_words``), six months
    for the others (通知公告、政策文件类); per category and sub-category in ``columns``."""

    model_config = {"extra": "forbid"}

    accounts_days: float | None = Field(
        default=None, gt=0, description="an account's limit (default 14 days; 单项否决 after two weeks)"
    )
    news_days: float | None = Field(default=None, gt=0, description="a news-like column's limit (default 14)")
    columns_days: float | None = Field(
        default=None, gt=0, description="any other column's limit (default 180)"
    )
    warn_before_days: float | None = Field(
        default=None, ge=0, description="warn this long before the limit (default 1: at 13 days of 14)"
    )
    columns: dict[str, float] = Field(
        default_factory=dict,
        description='per column: `"政策法规" = 90` for a category (and its sub-categories), '
        '`"政策法规/人事管理" = 365` for one sub-category, in days',
    )


class FreshnessSettings(FreshnessLimits):
    """``[freshness]``: after publishing, how fresh every column and account is
    (pipeline.freshness, docs/checks.md): limits, and where warnings go."""

    accounts_days: float = Field(default=14.0, gt=0, description="a 政务新媒体 account's limit in days")
    news_days: float = Field(default=14.0, gt=0, description="a news-like column's limit in days")
    columns_days: float = Field(default=180.0, gt=0, description="any other column's limit in days")
    warn_before_days: float = Field(
        default=1.0, ge=0, description="warn this long before the limit (at 13 days of 14)"
    )
    news_words: list[str] = Field(
        default_factory=lambda: list(NEWS_WORDS),
        description="a column whose name has one of these is news-like (动态、要闻类: two weeks)",
    )
    check_seconds: float = Field(
        default=600.0, ge=0.1, description="how often beat (or the embedded worker) looks again"
    )
    webhook: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s/]+(/\S*)?$",
        description="a URL every new warning is POSTed to as JSON (through the outbound policy)",
    )
    email_to: list[str] = Field(default_factory=list, description="addresses every new warning is mailed to")
    email_from: str = Field(default="govpub@localhost", description="the warnings' sender address")
    smtp_host: str = Field(default="127.0.0.1", description="the SMTP server the warnings go through")
    smtp_port: int = Field(default=25, ge=1, le=65535, description="its port")
    smtp_starttls: bool = Field(
        default=False, description="STARTTLS before sending (then AUTH if a user is set)"
    )
    smtp_user: str | None = Field(
        default=None, description="SMTP login (its password: GOVPUB_FRESHNESS__SMTP_PASSWORD)"
    )
    smtp_password: SecretStr | None = Field(default=None, description="from the environment, never the file")


class AgencyConfig(BaseModel):
    """``[agencies.CODE]``: with a ``name``, the agency is declared by the file and the
    file wins over the CLI (pipeline.agencies.sync_toml); without one, the table only
    carries channel option overlays (``channels.NAME``: pipeline.overlays) for an
    agency registered with ``govpub agencies add``."""

    model_config = {"extra": "forbid"}

    name: str | None = Field(default=None, min_length=1)
    parent: str | None = None
    kind: AgencyKind = "department"
    path: str | None = Field(default=None, pattern=AGENCY_PATH)
    column_name: str | None = None
    position: int = 0
    retired: bool = False
    taxonomy: dict[str, list[str]] | None = None
    channels: dict[str, dict[str, Any]] = Field(default_factory=dict)
    checks: AgencyChecks | None = Field(
        default=None,
        description="the agency's own check lexicons (added to `checks.lexicons`) and channel "
        'actions (over `checks.channels`): `{lexicons = [...], channels = {NAME = "warn"}}`',
    )
    freshness: FreshnessLimits | None = Field(
        default=None,
        description="the agency's own freshness limits, over `[freshness]`'s: "
        '`{accounts_days = 7, columns = {"业务工作" = 30}}`',
    )


class ChecksSettings(BaseModel):
    """``[checks]``: the compliance guard at intake (pipeline.checks, docs/checks.md)."""

    enabled: list[Literal["expressions", "personal", "links"]] = Field(
        default_factory=list, description="the checks that run on every new revision (none by default)"
    )
    lexicons: list[str] = Field(
        default_factory=list, description="lexicon files (TOML) of the expressions check, for every agency"
    )
    personal: Literal["warn", "hold"] = Field(
        default="hold", description="what a personal-information finding does"
    )
    links: Literal["warn", "hold"] = Field(
        default="warn", description="what a link or image of the body that does not resolve does"
    )
    links_budget_seconds: float = Field(
        default=10.0,
        gt=0,
        le=120,
        description="time the links check may take per item (a link not "
        "answered by then is reported as not checked)",
    )
    channels: dict[str, Literal["warn", "hold"]] = Field(
        default_factory=dict,
        description="per channel instance: a holding finding holds its delivery (hold, the default) "
        "or only warns (warn: it goes out, the finding recorded)",
    )


class ConsoleSettings(BaseModel):
    """The operator console's sessions (see pipeline.console.auth)."""

    session_idle_minutes: float = Field(
        default=30.0, gt=0, description="a console session ends after this long without a request"
    )
    session_max_hours: float = Field(
        default=12.0, gt=0, description="a console session ends this long after login"
    )
    poll_seconds: float = Field(
        default=5.0, ge=1, description="how often console pages refresh their live parts"
    )
    login_free_failures: int = Field(
        default=3,
        ge=0,
        description="wrong passwords for one account before each further try must wait (1 s, doubling)",
    )
    login_lock_after: int = Field(
        default=10,
        ge=1,
        description="wrong passwords for one account that lock it for `login_lock_minutes` "
        "(doubling with each further one)",
    )
    login_lock_minutes: float = Field(
        default=15.0, gt=0, description="how long a first lock lasts (of an account or an address)"
    )
    address_lock_after: int = Field(
        default=30,
        ge=1,
        description="wrong passwords from one client address (an IPv6 /64) that lock it out; its "
        "tries wait from `login_lock_after` on",
    )
    password_checks_at_once: int = Field(
        default=2,
        ge=1,
        le=64,
        description="password hashes a serve process computes at once (64 MiB each); "
        "a login beyond them is refused with 429 at once",
    )


def channel_options(model: type[OptionsT], name: str, options: dict[str, Any]) -> OptionsT:
    """A channel's options validated by its pydantic model, or a ConfigError that names
    the key (``channels.NAME.options.KEY``), the value and what would be valid."""
    try:
        return model.model_validate(options)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(["channels", name, "options", *(str(p) for p in first["loc"])])
        raise ConfigError(key, first.get("input"), first["msg"]) from exc


def default_channels() -> dict[str, ChannelConfig]:
    """With no configuration: one instance, named like its kind, of every installed kind
    that declares default options (with govpub's own: the static disclosure column and its
    RSS/Atom feeds)."""
    from pipeline.plugin import ReportRole
    from pipeline.registry import plugins

    portal_first = sorted(plugins().items(), key=lambda kp: kp[1].report_role != ReportRole.PORTAL)
    return {
        kind: ChannelConfig(kind=kind, options=dict(declared.default_options))
        for kind, declared in portal_first
        if declared.default_options is not None
    }


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GOVPUB_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    database_url: str = "sqlite:///var/govpub.db"
    broker_url: str | None = None
    redis_url: str | None = None
    data_dir: Path = Path("var")
    public_url: str = "http://127.0.0.1:8000"
    site_name: str = "政府信息公开"
    timezone: str = "Asia/Shanghai"

    max_body_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    batch_max_items: int = Field(default=500, ge=1, le=10_000)
    taxonomy: dict[str, list[str]] = Field(default_factory=lambda: dict(DEFAULT_TAXONOMY))
    channels: dict[str, ChannelConfig] = Field(default_factory=default_channels)
    agencies: dict[str, AgencyConfig] = Field(default_factory=dict)
    agencies_refresh_seconds: float = Field(default=5.0, ge=0)

    max_attempts: int = Field(default=8, ge=1, le=100)
    retry_base_seconds: float = Field(default=5.0, gt=0)
    retry_max_seconds: float = Field(default=3600.0, gt=0)
    lease_seconds: float = Field(default=30.0, ge=1)
    requeue_after_seconds: float = Field(default=60.0, gt=0)
    sweep_interval_seconds: float = Field(default=2.0, gt=0)
    embedded_workers: int = Field(default=2, ge=1, le=64)
    visibility_timeout_seconds: int = Field(default=3600, ge=60)

    secret_key: SecretStr | None = None
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["127.0.0.1", "::1"])
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    checks: ChecksSettings = Field(default_factory=ChecksSettings)
    freshness: FreshnessSettings = Field(default_factory=FreshnessSettings)
    outbound: OutboundSettings = Field(default_factory=OutboundSettings)
    log_format: Literal["console", "json"] = "console"

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql")):
            raise ValueError("use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB")
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxies(cls, value: Any) -> Any:
        """Addresses or networks (``10.0.0.0/8``), or ``*``; a comma-separated string too."""
        entries = [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value
        for entry in entries if isinstance(entries, list) else []:
            if entry != "*":
                try:
                    ipaddress.ip_network(str(entry), strict=False)
                except ValueError as exc:
                    raise ValueError(f"{entry!r}: IP addresses or networks (10.0.0.0/8), or *") from exc
        return entries

    @field_validator("broker_url")
    @classmethod
    def _known_broker(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://")):
            raise ValueError("use redis://HOST:PORT/DB (or leave unset for the in-process worker)")
        return value or None

    @property
    def embedded(self) -> bool:
        """No broker: the in-process worker delivers."""
        return self.broker_url is None

    @property
    def redis(self) -> str | None:
        return self.redis_url or self.broker_url

    def enabled_channels(self) -> dict[str, ChannelConfig]:
        return {name: cfg for name, cfg in self.channels.items() if cfg.enabled}

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = config_path()
        secrets_dir = os.environ.get("GOVPUB_SECRETS_DIR")
        if secrets_dir:
            file_secret_settings = SecretsSettingsSource(settings_cls, secrets_dir=secrets_dir)
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        sources.append(file_secret_settings)
        return tuple(sources)


def config_path() -> Path | None:
    explicit = os.environ.get("GOVPUB_CONFIG")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError("GOVPUB_CONFIG", explicit, "a path to an existing TOML file")
        return path
    default = Path("govpub.toml")
    return default if default.is_file() else None


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning pydantic's errors into one ConfigError with a hint."""
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = "GOVPUB_" + "__".join(str(p) for p in first["loc"]).upper()
        raise ConfigError(key, first.get("input"), first["msg"]) from exc
    from pipeline.registry import kinds as installed_kinds

    kinds = installed_kinds()
    for name, cfg in settings.channels.items():
        if cfg.kind not in kinds:
            raise ConfigError(f"channels.{name}.kind", cfg.kind, f"one of {sorted(kinds)}")
        for dep in cfg.depends_on:
            if dep not in settings.channels:
                raise ConfigError(f"channels.{name}.depends_on", dep, f"one of {sorted(settings.channels)}")
    for code, agency in settings.agencies.items():
        for name in agency.channels:
            if name not in settings.channels:
                key = f"agencies.{code}.channels.{name}"
                raise ConfigError(key, name, f"one of the channel instances {sorted(settings.channels)}")
    return settings
