"""The configuration reference of docs/operations.md, generated from the Settings model.

Every field of :class:`pipeline.config.Settings` (nested models included) becomes one
row: its TOML key, its environment variable, its default and what it means. The
meaning is the field's ``description`` when it has one, else the line in
:data:`MEANINGS`; a test fails when a field has neither or when the document's
table differs from this output, so the reference cannot drift from the code.

    python -m pipeline.config_reference          # print the table
    python -m pipeline.config_reference --write  # rewrite it in docs/operations.md
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from pipeline.config import AgencyConfig, ChannelConfig, Settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "operations.md"
BEGIN = "<!-- config-reference: begin (python -m pipeline.config_reference --write) -->"
END = "<!-- config-reference: end -->"

# Values that carry passwords or keys: environment or GOVPUB_SECRETS_DIR files only.
SECRETS = {"database_url", "broker_url", "redis_url", "secret_key"}

MEANINGS: dict[str, str] = {
    "database_url": "SQLAlchemy URL: `sqlite:///PATH` (embedded) or `postgresql+psycopg://USER:PASSWORD@HOST/DB`",
    "broker_url": "Redis URL of the Celery broker; unset = embedded mode (in-process worker, no beat)",
    "redis_url": "Redis for other uses (beat heartbeat, channel tokens) when not the broker's",
    "data_dir": "folder of local files: what the channels render and keep (pages, packages, their state)",
    "public_url": "address the public reaches govpub at; every public link (pages, 阅读原文) starts with it",
    "site_name": "name of the disclosure column (titles of its pages and subscriptions)",
    "timezone": "zone deliveries are counted and shown in (a delivery at 20:00Z on 31 Dec is next year)",
    "max_body_bytes": "largest request body the intake accepts (413 above); nginx's `client_max_body_size`",
    "batch_max_items": "most items in one `POST /v1/items:batch`",
    "taxonomy": "主题分类: category → its sub-classes",
    "channels": "the channel instances by name (one Celery queue `govpub.<name>` each)",
    "channels.*.kind": "an installed channel kind (a `govpub.channels` entry point)",
    "channels.*.enabled": "whether new items go to this channel",
    "channels.*.rate_limit": "Celery rate limit per worker process, `N/s`, `N/m` or `N/h`",
    "channels.*.max_attempts": "attempts before a delivery is dead (overrides `max_attempts`)",
    "channels.*.depends_on": "channels whose delivery of the same item must succeed first",
    "channels.*.options": "the channel's own options (docs/channels/<kind>.md)",
    "channels.*.agencies": "agency codes this instance serves (a per-agency receiver); unset: every agency",
    "channels.*.include_children": "with `agencies`: their descendant agencies too",
    "agencies": "the agencies by code (docs/platform.md); one declared here is not edited by the CLI",
    "agencies.*.name": "发布机构 name; with it the file declares the agency (without: overlays only)",
    "agencies.*.parent": "the parent agency's code (the district government heads the tree)",
    "agencies.*.kind": "`government`, `department`, `town` or `subdistrict` (the portal's groups)",
    "agencies.*.path": "its column's path (default: the code in lower case)",
    "agencies.*.column_name": "the column's title (default `{name}信息公开`)",
    "agencies.*.position": "order within its group on the portal",
    "agencies.*.retired": "no new items; its history stays",
    "agencies.*.taxonomy": "its own 主题分类, replacing `taxonomy` for it",
    "agencies.*.channels": "per-instance option overlays (`[agencies.CODE.channels.NAME]`, key `use`)",
    "agencies_refresh_seconds": "how often a process re-reads the agency registry after a change",
    "max_attempts": "attempts before a delivery is dead and waits for an operator",
    "retry_base_seconds": "retry delay scale: attempt n waits a random time up to base × 2ⁿ⁻¹",
    "retry_max_seconds": "longest retry delay",
    "lease_seconds": (
        "how long a claim on a delivery lasts; the working worker renews it every third of it, "
        "so a dead worker's delivery is taken over about this long after it died"
    ),
    "requeue_after_seconds": "the sweeper re-sends deliveries waiting in pending/queued longer than this",
    "sweep_interval_seconds": "how often the beat sweeps",
    "embedded_workers": "threads of the in-process worker (embedded mode only)",
    "visibility_timeout_seconds": "Redis visibility timeout: an unacknowledged task is redelivered after it",
    "secret_key": "key for the operator console's sessions and for signatures",
    "trusted_proxies": (
        "proxies (addresses, networks or `*`) whose `X-Forwarded-For` names the client; "
        "from anyone else the header is ignored (comma-separated in the environment)"
    ),
    "log_format": "`console` (people) or `json` (log collectors)",
}


def rows(model: type[BaseModel] = Settings, prefix: str = "") -> list[tuple[str, str, str, str]]:
    """(TOML key, environment variable, default, meaning) for every field, depth first."""
    found: list[tuple[str, str, str, str]] = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        nested = _nested_model(field)
        if nested is not None:
            found += rows(nested, f"{key}.")
            continue
        found.append((key, _env(key), _default(field), meaning(key, field)))
        if name == "channels" and model is Settings:
            for sub, info in ChannelConfig.model_fields.items():
                row = (f"channels.<name>.{sub}", _env(f"channels.<NAME>.{sub}"), _default(info))
                found.append((*row, meaning(f"channels.*.{sub}", info)))
        if name == "agencies" and model is Settings:
            for sub, info in AgencyConfig.model_fields.items():
                row = (f"agencies.<code>.{sub}", _env(f"agencies.<CODE>.{sub}"), _default(info))
                found.append((*row, meaning(f"agencies.*.{sub}", info)))
    return found


def meaning(key: str, field: FieldInfo) -> str:
    text = field.description or MEANINGS.get(key, "")
    if key.split(".")[0] in SECRETS and "." not in key:
        text += " — **secret**: environment or a `GOVPUB_SECRETS_DIR` file, never the TOML file"
    return text


def undocumented() -> list[str]:
    return [key for key, _, _, text in rows() if not text]


def markdown() -> str:
    lines = ["| setting (TOML) | environment variable | default | meaning |", "|---|---|---|---|"]
    for key, env, default, text in rows():
        escaped = text.replace("|", "\\|")
        lines.append(f"| `{key}` | `{env}` | {default} | {escaped} |")
    return "\n".join(lines) + "\n"


def rewrite(doc: Path = DOC) -> bool:
    """Replace the table between the markers; True when the file changed."""
    text = doc.read_text("utf-8")
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    new = f"{head}{BEGIN}\n{markdown()}{END}{tail}"
    if new != text:
        doc.write_text(new, "utf-8")
    return new != text


def documented(doc: Path = DOC) -> str:
    """The table as it stands in the document."""
    _, _, rest = doc.read_text("utf-8").partition(BEGIN + "\n")
    return rest.partition(END)[0]


def _nested_model(field: FieldInfo) -> type[BaseModel] | None:
    annotation = field.annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _env(key: str) -> str:
    return "GOVPUB_" + key.replace(".", "__").upper()


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value: Any = field.default_factory()  # type: ignore[call-arg]
    elif field.default is PydanticUndefined:
        return "(required)"
    else:
        value = field.default
    return _show(value)


def _show(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, SecretStr):
        return "(set)"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, dict):
        if not value:
            return "`{}`"
        return "keys " + ", ".join(f"`{k}`" for k in value)
    if isinstance(value, list):
        return "`[]`" if not value else f"`{value}`"
    if isinstance(value, str | Path):
        return f'`"{value}"`'
    return f"`{value}`"


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        print("rewrote" if rewrite() else "up to date", DOC)
    else:
        sys.stdout.write(markdown())
