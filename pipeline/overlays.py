"""Per-agency channel settings: option overlays on channel instances.

``[agencies.CODE.channels.NAME]`` holds an agency's options for instance NAME, merged
over the instance's ``[channels.NAME.options]`` (the overlay wins, tables merge key by
key). Its reserved key ``use`` says whose options serve the agency:

- ``"own"`` (the default when other keys are given): the merged options; the account
  is the agency's code (a WeChat account of its own, its own receiver, its own CMS);
- ``"parent"``: whatever serves its parent (recursively);
- ``"platform"``: the instance's own options (account ``""``);
- ``"none"``: the instance does not serve the agency.

An agency with no overlay gets its plug-in's ``agency_default``: ``"platform"``, or
``"none"``, or ``"head"`` (``"platform"`` for an agency without a parent or not
registered, the head of the tree, and for every agency an instance with ``agencies``
lists; ``"none"`` for the others). An instance with ``agencies = […]`` serves only those
(and with ``include_children`` their descendants).
The core reads overlays to make delivery rows; a channel reads them through ``ChannelEnv.options_for``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeline.errors import ConfigError

if TYPE_CHECKING:
    from pipeline.agencies import Registry
    from pipeline.config import Settings

USES = ("own", "parent", "platform", "none")


@dataclass(frozen=True)
class Resolved:
    """What serves one agency on one instance: ``account`` names whose options these
    are (``""`` the instance's own; else the owning agency's code), ``owner`` that
    agency (None for the instance's own)."""

    account: str
    options: dict[str, Any]
    owner: str | None


def merged(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """``overlay`` over ``base``, tables merged key by key."""
    out = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def serves(settings: Settings, registry: Registry, channel: str, agency: str) -> bool:
    """Whether the instance's ``agencies`` list lets it serve ``agency``."""
    cfg = settings.channels[channel]
    if cfg.agencies is None or agency in cfg.agencies:
        return True
    return cfg.include_children and any(a.code in cfg.agencies for a in registry.ancestors(agency))


def resolve(settings: Settings, registry: Registry, channel: str, agency: str) -> Resolved | None:
    """The options instance ``channel`` serves ``agency`` with, or None: not served."""
    if not serves(settings, registry, channel, agency):
        return None
    return _resolved(settings, registry, channel, agency, set())


def _resolved(
    settings: Settings, registry: Registry, channel: str, agency: str, seen: set[str]
) -> Resolved | None:
    cfg = settings.channels[channel]
    declared = settings.agencies.get(agency)
    overlay = declared.channels.get(channel) if declared is not None else None
    use = (
        _use(agency, channel, overlay)
        if overlay is not None
        else _default(cfg.kind, registry, agency, cfg.agencies is not None)
    )
    if use == "none":
        return None
    if use == "platform":
        return Resolved("", dict(cfg.options), None)
    if use == "parent":
        found = registry.get(agency)
        parent = found.parent if found is not None else None
        if parent is None or parent in seen:
            return _resolved_default(settings, registry, channel, agency)
        return _resolved(settings, registry, channel, parent, seen | {agency})
    own = {k: v for k, v in (overlay or {}).items() if k != "use"}
    return Resolved(agency, merged(cfg.options, own), agency)


def _resolved_default(settings: Settings, registry: Registry, channel: str, agency: str) -> Resolved | None:
    cfg = settings.channels[channel]
    use = _default(cfg.kind, registry, agency, cfg.agencies is not None)
    return Resolved("", dict(cfg.options), None) if use == "platform" else None


def _use(agency: str, channel: str, overlay: dict[str, Any]) -> str:
    use = overlay.get("use", "own")
    if use not in USES:
        raise ConfigError(f"agencies.{agency}.channels.{channel}.use", use, f"one of {list(USES)}")
    return str(use)


def _default(kind: str, registry: Registry, agency: str, listed: bool = False) -> str:
    from pipeline.registry import plugin

    default = plugin(kind).agency_default
    if default == "head" and listed:  # an instance for some agencies: its options are theirs
        return "platform"
    if default == "head":
        found = registry.get(agency)
        return "platform" if found is None or found.parent is None else "none"
    return default


def check_all(settings: Settings, registry: Registry) -> None:
    """Every agency's overlays can work (:func:`check_overlays`) and every instance's
    ``agencies`` are registered."""
    check_overlays(settings)
    known = {a.code for a in registry.all()} | set(settings.agencies)
    for name, cfg in settings.channels.items():
        for code in cfg.agencies or ():
            if code not in known:
                raise ConfigError(f"channels.{name}.agencies", code, "codes of registered agencies")


def check_overlays(settings: Settings) -> None:
    """A bad overlay stops start-up naming ``agencies.CODE.channels.NAME.KEY``, like an
    instance's own options do (checked by the instance's class, on the merged options)."""
    from pipeline.channel import channel_class

    for code, declared in settings.agencies.items():
        for channel, overlay in declared.channels.items():
            if _use(code, channel, overlay) != "own" or channel not in settings.enabled_channels():
                continue
            cfg = settings.channels[channel]
            options = merged(cfg.options, {k: v for k, v in overlay.items() if k != "use"})
            try:
                channel_class(cfg.kind).check_options(channel, options)
            except ConfigError as exc:
                raise _renamed(exc, channel, code) from exc


def _renamed(exc: ConfigError, channel: str, code: str) -> ConfigError:
    """The instance's key (``channels.NAME.options.KEY``) as the overlay's."""
    prefix = f"channels.{channel}.options"
    key = exc.key
    if key.startswith(prefix):
        key = f"agencies.{code}.channels.{channel}" + key[len(prefix) :]
    return ConfigError(key, exc.value, exc.valid)
