"""The website channel's options, checked when the channel is built.

``adapter = "static"`` (default) renders the column into ``output_dir``;
``adapter = "http"`` pushes documents to the agency's CMS. A bad value stops
start-up with a ConfigError naming the key, the value and what would be valid.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from channels.kit import secrets
from channels.kit.secrets import check_secrets
from pipeline import registry
from pipeline.errors import ConfigError
from pipeline.model import Published

# CMS field ← item field (a dotted path into the item as JSON, or one of the computed
# values ``$url`` (the item's govpub page address), ``$attachments`` (name, type, size,
# sha256 of each file) and ``$revision``).
DEFAULT_FIELDS: dict[str, str] = {
    "index_no": "index_no",
    "title": "title",
    "publisher": "agency.name",
    "publisher_code": "agency.code",
    "generated_on": "generated_on",
    "doc_no": "doc_no",
    "category": "category",
    "subcategory": "subcategory",
    "genre": "genre",
    "validity": "validity",
    "keywords": "keywords",
    "summary": "summary",
    "body_html": "body_html",
    "attachments": "$attachments",
    "revision": "$revision",
}
COMPUTED = {"$url", "$attachments", "$revision"}


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid")


PAGE_SUFFIXES = (".md", ".markdown", ".html", ".htm")


class Footer(_Options):
    """What inspections require at the foot of every page of a government site. Set for
    the platform in the instance's options; an agency's overlay may name its own
    ``organiser`` (主办单位) for its column."""

    organiser: str | None = Field(default=None, min_length=1, max_length=100)  # 主办单位
    site_code: str | None = Field(default=None, pattern=r"^[0-9A-Za-z]{10,20}$")  # 网站标识码
    icp: str | None = Field(default=None, min_length=1, max_length=60)  # ICP 备案号
    police: str | None = Field(default=None, min_length=1, max_length=60)  # 公安机关备案号

    def missing(self) -> list[str]:
        labels = {
            "organiser": "主办单位",
            "site_code": "网站标识码",
            "icp": "ICP 备案号",
            "police": "公安机关备案号",
        }
        return [label for key, label in labels.items() if getattr(self, key) is None]


class Contact(_Options):
    """Where the agency takes applications (依申请公开): read by the default guide."""

    office: str | None = Field(default=None, max_length=100)
    address: str | None = Field(default=None, max_length=200)
    postcode: str | None = Field(default=None, pattern=r"^\d{6}$")
    phone: str | None = Field(default=None, max_length=60)
    hours: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=100)


class StaticOptions(_Options):
    adapter: Literal["static"] = "static"
    output_dir: Path | None = None
    page_size: int = Field(default=20, ge=2, le=500)
    column_name: str = Field(default="政府信息公开", min_length=1, max_length=40)
    lock_timeout_seconds: float = Field(default=120.0, gt=0)
    latest_size: int = Field(default=50, ge=1, le=500)  # the portal's district-wide latest list
    # Deliveries rendered together (each listing page written once for all); 1: one by one.
    max_batch: int = Field(default=50, ge=1, le=500)
    # the column's 政府信息公开指南 and 政府信息公开制度 (a Markdown or HTML file, set per
    # agency in its overlay; None: a default from the registry, channels.website.sections)
    guide: Path | None = None
    rules: Path | None = None
    footer: Footer = Field(default_factory=Footer)
    contact: Contact = Field(default_factory=Contact)

    @field_validator("guide", "rules")
    @classmethod
    def _readable_page(cls, path: Path | None) -> Path | None:
        if path is None:
            return None
        if path.suffix.lower() not in PAGE_SUFFIXES:
            raise ValueError(f"a Markdown or HTML file ({', '.join(PAGE_SUFFIXES)})")
        if not path.is_file():
            raise ValueError(f"no such file (relative paths start at {Path.cwd()})")
        return path

    def folder(self, data_dir: Path) -> Path:
        return Path(self.output_dir) if self.output_dir else Path(data_dir) / "site"


class HttpOptions(_Options):
    adapter: Literal["http"]
    base_url: str = Field(pattern=r"^https?://[^\s/]+(/\S*)?$")
    # the bearer token and the signing key: from these variables or files, never written
    # here (channels.kit.secrets)
    token_env: str = "GOVPUB_CMS_TOKEN"
    token_file: Path | None = None
    secret_env: str = "GOVPUB_CMS_SECRET"
    secret_file: Path | None = None
    connect_timeout: float = Field(default=5.0, gt=0)
    read_timeout: float = Field(default=30.0, gt=0)
    fields: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_FIELDS))
    url_field: str = "url"

    def check_fields(self, channel: str) -> None:
        """Every CMS field comes from an item field or a computed value."""
        item_fields = set(Published.model_fields) | set(registry.item_fields())  # the kinds' too
        for cms_field, source in self.fields.items():
            head = source.split(".", 1)[0]
            if source not in COMPUTED and head not in item_fields:
                raise ConfigError(
                    f"channels.{channel}.options.fields.{cms_field}",
                    source,
                    f"an item field ({', '.join(sorted(item_fields))}) or {sorted(COMPUTED)}",
                )


def check_options(channel: str, options: dict[str, Any]) -> None:
    """What :func:`parse_options` checks, and for a CMS push its token, signing secret and
    field mapping too (what the adapter needs before its first request)."""
    parsed = parse_options(channel, options)
    if isinstance(parsed, HttpOptions):
        check_secrets(parsed, channel)
        parsed.check_fields(channel)


def parse_options(channel: str, options: dict[str, Any]) -> StaticOptions | HttpOptions:
    adapter = options.get("adapter", "static")
    model: type[StaticOptions] | type[HttpOptions]
    if adapter == "static":
        model = StaticOptions
    elif adapter == "http":
        model = HttpOptions
    else:
        raise ConfigError(f"channels.{channel}.options.adapter", adapter, '"static" or "http"')
    return secrets.parse_options(model, channel, options)
