"""The installed channel kinds: one :class:`~pipeline.plugin.ChannelPlugin` per
``govpub.channels`` entry point, and nothing else.

A distribution adds a kind with one line in its pyproject::

    [project.entry-points."govpub.channels"]
    noticeboard = "mypkg.noticeboard.plugin:plugin"

Listing the kinds imports each package's small ``plugin`` module only; channel classes,
routers and commands are imported when first used. Tests (and an installation that
wants to switch a kind off without uninstalling it) leave kinds out with
``GOVPUB_PLUGINS_EXCLUDE=kind,kind`` or, inside one process, :func:`only` / :func:`without`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cache
from importlib.metadata import EntryPoint, entry_points

from pipeline.errors import ConfigError
from pipeline.plugin import Alternate, ChannelPlugin, ItemField, ReportRole

GROUP = "govpub.channels"
EXCLUDE_ENV = "GOVPUB_PLUGINS_EXCLUDE"

# Kinds left out by ``without``/``only`` in this process (every thread: the embedded
# workers and a test client's server see the same list), on top of the environment's.
_left_out: list[frozenset[str]] = [frozenset()]


@cache
def _entry_points() -> dict[str, EntryPoint]:
    """The declared kinds, by name, nothing imported yet."""
    return dict(sorted((ep.name, ep) for ep in entry_points(group=GROUP)))


@cache
def _load(name: str) -> ChannelPlugin:
    """Import one kind's plug-in: only for a kind not left out, so a broken or half
    removed package can be switched off with ``GOVPUB_PLUGINS_EXCLUDE``."""
    ep = _entry_points()[name]
    declared = ep.load()
    if not isinstance(declared, ChannelPlugin):
        raise ConfigError(f"entry point {GROUP}:{name}", ep.value, "a ChannelPlugin")
    if declared.kind != name:
        raise ConfigError(f"entry point {GROUP}:{name}", declared.kind, f"kind {name!r}")
    return declared


def _excluded() -> frozenset[str]:
    named = {k.strip() for k in os.environ.get(EXCLUDE_ENV, "").split(",") if k.strip()}
    return frozenset(named) | _left_out[-1]


def plugins() -> dict[str, ChannelPlugin]:
    """Every installed kind (less those left out), by kind, in name order."""
    return dict(_kept(_excluded()))


@cache
def _kept(excluded: frozenset[str]) -> dict[str, ChannelPlugin]:
    return {kind: _load(kind) for kind in _entry_points() if kind not in excluded}


def refresh() -> None:
    """Read the entry points again: a distribution installed into a running process
    (the tests that install an example channel) is seen from now on."""
    _entry_points.cache_clear()
    _load.cache_clear()
    _kept.cache_clear()
    _item_fields.cache_clear()
    _pages_path.cache_clear()


def kinds() -> set[str]:
    return set(plugins())


def plugin(kind: str) -> ChannelPlugin:
    """The plug-in of ``kind``, or a ConfigError listing the installed kinds."""
    found = plugins().get(kind)
    if found is None:
        raise ConfigError("channel kind", kind, f"one of {sorted(plugins())}")
    return found


def label(kind: str) -> str:
    """How operators and the report call a kind; a kind no longer installed keeps its name."""
    found = plugins().get(kind)
    return found.label if found is not None else kind


def pages_path() -> str:
    """Where item pages are published under the public address: the path the portal's
    plug-in declares (another kind's when no portal declares one), else ``""``. Asked for
    every link a channel writes, so worked out once per set of installed kinds."""
    return _pages_path(_excluded())


@cache
def _pages_path(excluded: frozenset[str]) -> str:
    ranked = sorted(_kept(excluded).values(), key=lambda p: p.report_role != ReportRole.PORTAL)
    return next((p.pages_path.rstrip("/") for p in ranked if p.pages_path is not None), "")


def alternates() -> list[Alternate]:
    """Every feed the installed kinds offer, for pages to announce."""
    return [a for p in plugins().values() for a in p.alternates]


def item_fields() -> dict[str, ItemField]:
    """The item fields the installed kinds declare, by name (see :class:`ItemField`)."""
    return _item_fields(_excluded())


@cache
def _item_fields(excluded: frozenset[str]) -> dict[str, ItemField]:
    found: dict[str, ItemField] = {}
    owners: dict[str, str] = {}
    for kind, declared in _kept(excluded).items():
        for name, item_field in declared.item_fields.items():
            if name in found:
                raise ConfigError(
                    f"item field {name} of kind {kind}", name, f"a name kind {owners[name]} does not use"
                )
            found[name], owners[name] = item_field, kind
    return found


def served_paths() -> tuple[str, ...]:
    """Path prefixes whose answers are published files, served as they are."""
    return tuple(path for p in plugins().values() for path in p.served_paths)


@contextmanager
def without(leave_out: Iterable[str]) -> Iterator[None]:
    """Within the block, these kinds are not installed (the "remove a channel" tests)."""
    _left_out.append(_left_out[-1] | frozenset(leave_out))
    try:
        yield
    finally:
        _left_out.pop()


@contextmanager
def only(keep: Iterable[str]) -> Iterator[None]:
    """Within the block, only these kinds are installed."""
    kept = set(keep)
    with without(k for k in _entry_points() if k not in kept):
        yield
