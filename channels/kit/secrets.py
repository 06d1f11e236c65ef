"""One secrets policy for every channel: a secret never sits in the configuration.

A channel's options model declares each secret ``X`` it needs by two options, never
by ``X`` itself:

- ``X_env``: the environment variable that holds it (usually with a default, such as
  ``GOVPUB_CMS_TOKEN``), and
- ``X_file``: optionally, a file that holds it (a mounted secret, ``/run/secrets/…``),
  which wins over the variable when set.

A literal ``X`` in the options (``token = "…"``) stops start-up with a ConfigError
naming the key, so a secret committed by mistake is noticed at once rather than used.
Secrets are read when needed (:func:`read_secret`), so a rotated one is picked up
without a restart, and checked at start-up (:func:`check_secrets`), so a missing one
stops ``serve``/``worker`` rather than the first delivery. Values are never shown.

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        token_env: str = "GOVPUB_NOTICEBOARD_TOKEN"
        token_file: Path | None = None

    options = parse_options(Options, name, raw)   # refuses raw["token"]
    token = read_secret(options, "token")
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from pipeline.config import channel_options
from pipeline.errors import ConfigError

OptionsT = TypeVar("OptionsT", bound=BaseModel)


def secret_names(model: type[BaseModel]) -> list[str]:
    """The secrets a model declares: every ``X`` with an ``X_env`` option."""
    return [key.removesuffix("_env") for key in model.model_fields if key.endswith("_env")]


def parse_options(model: type[OptionsT], channel: str, raw: dict[str, Any]) -> OptionsT:
    """``raw`` validated by ``model`` (:func:`pipeline.config.channel_options`), after
    refusing any secret written in it literally. Works for nested models too (a
    transport sub-table): the literal is looked for wherever ``model`` is used."""
    refuse_literals(model, raw, f"channels.{channel}.options")
    return channel_options(model, channel, raw)


def refuse_literals(model: type[BaseModel], raw: dict[str, Any], key: str) -> None:
    """A ConfigError for the first secret of ``model`` (or of a model nested in it)
    that ``raw`` holds literally; ``key`` is where ``raw`` sits in the configuration."""
    for name in secret_names(model):
        if name in raw:
            raise ConfigError(
                f"{key}.{name}",
                "***",
                f"never put a secret in the configuration: set {name}_env (an environment "
                f"variable holding it) or {name}_file (a file holding it)",
            )
    for field, info in model.model_fields.items():
        value = raw.get(field)
        if isinstance(value, dict):
            for nested in _models(info.annotation):
                refuse_literals(nested, value, f"{key}.{field}")


def read_secret(
    options: BaseModel, name: str, *, required: bool | None = None, key: str = "options", label: str = ""
) -> str | None:
    """Secret ``name`` from ``name_file`` when set, else from the variable ``name_env``.
    Missing or empty and ``required``: a ConfigError naming the option to set (``key``
    is where ``options`` sit, e.g. ``channels.cms.options``; ``label`` how operators call
    the secret, e.g. "the WeChat AppSecret"); not required: None. By default a secret is
    required when the options name a source for it (``X_env`` not None, or ``X_file``):
    give an optional secret ``X_env: str | None = None``."""
    label = label or f"the {name}"
    path: Path | None = getattr(options, f"{name}_file", None)
    env: str | None = getattr(options, f"{name}_env")
    if path is not None:
        try:
            value = Path(path).read_text("utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{key}.{name}_file", str(path), f"a readable file holding it: {exc}") from exc
        if value:
            return value
        raise ConfigError(f"{key}.{name}_file", str(path), f"a file holding {label}; it is empty")
    value = os.environ.get(env, "").strip() if env else ""
    if required is None:
        required = env is not None
    if value or not required:
        return value or None
    raise ConfigError(
        f"{key}.{name}_env",
        env,
        f"the environment variable {env} is not set: put {label} in it, or set {name}_file "
        "to a file holding it",
    )


def check_secrets(options: BaseModel, channel: str, *, key: str = "") -> None:
    """Every secret the options (and options nested in them) declare can be read now,
    for ``check_options``."""
    key = key or f"channels.{channel}.options"
    for name in secret_names(type(options)):
        read_secret(options, name, key=key)
    for field in type(options).model_fields:
        value = getattr(options, field)
        if isinstance(value, BaseModel):
            check_secrets(value, channel, key=f"{key}.{field}")


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an option's type names (``A | B``, ``Annotated[…]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in getattr(annotation, "__args__", ()) or getattr(annotation, "__metadata__", ()):
        found += _models(arg)
    origin = getattr(annotation, "__origin__", None)
    if origin is not None and origin is not annotation:
        found += _models(origin)
    return found
