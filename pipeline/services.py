"""Everything a task or a web handler needs, built once from settings and passed in
(no module-level globals). Channels get the narrow part of it, :attr:`Services.env`."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from sqlalchemy import Engine

from pipeline import overlays
from pipeline.agencies import Registry
from pipeline.batchsize import BatchSizes
from pipeline.channel import Channel, ChannelEnv, channel_class
from pipeline.checks.stage import Stage
from pipeline.config import Settings
from pipeline.db import make_engine
from pipeline.deliveries import Deliveries
from pipeline.dispatch import Dispatcher
from pipeline.outbound import Policy
from pipeline.registry import kinds
from pipeline.store import Store, utcnow


@dataclass
class Services:
    settings: Settings
    engine: Engine
    clock: Callable[[], datetime] = utcnow
    # where workers send deliveries they make due (set by the queue or the in-process worker)
    dispatcher: Dispatcher | None = None
    _channels: dict[str, Channel] = field(default_factory=dict)

    @cached_property
    def store(self) -> Store:
        return Store(self.engine, {name: cfg.kind for name, cfg in self.settings.channels.items()})

    @cached_property
    def deliveries(self) -> Deliveries:
        deps = {name: cfg.depends_on for name, cfg in self.settings.channels.items()}
        return Deliveries(self.engine, deps)

    @cached_property
    def batch_sizes(self) -> BatchSizes:
        """How many deliveries this process claims at once, per channel."""
        return BatchSizes()

    @cached_property
    def checks(self) -> Stage:
        """The compliance checks at intake (lexicons built once)."""
        agencies = {code: a.checks for code, a in self.settings.agencies.items() if a.checks}
        return Stage(self.settings.checks, Policy.from_settings(self.settings.outbound), agencies)

    @cached_property
    def registry(self) -> Registry:
        """The agencies (read once, again when another process changed them)."""
        return Registry(self.engine, self.settings.agencies_refresh_seconds)

    @cached_property
    def worker_name(self) -> str:
        return f"{socket.gethostname()}:{os.getpid()}"

    @cached_property
    def env(self) -> ChannelEnv:
        """What channels get of this installation (:class:`pipeline.channel.ChannelEnv`)."""
        return ChannelEnv(
            settings=self.settings,
            engine=self.engine,
            clock=lambda: self.clock(),  # follows a clock a test sets later
            load_blob=self.store.blob,
            wake=self.deliveries.wake,
            due=self.deliveries.due_for_channel,
            depends_on=lambda name: list(self.settings.channels[name].depends_on),
            agencies=self.registry,
            options_for=lambda name, agency: overlays.resolve(self.settings, self.registry, name, agency),
        )

    def channel(self, name: str) -> Channel:
        """The configured channel instance, created on first use."""
        if name not in self._channels:
            cfg = self.settings.channels[name]
            self._channels[name] = channel_class(cfg.kind)(name, cfg.options, self.env)
        return self._channels[name]

    def channels_of_kind(self, kind: str) -> Iterator[Channel]:
        """The enabled channels of one kind, the one named like the kind first (each
        created only when the caller gets to it)."""
        enabled = self.settings.enabled_channels()
        for name in sorted(enabled, key=lambda n: n != kind):
            if enabled[name].kind == kind:
                yield self.channel(name)

    def channels_for(self, agency_code: str, requested: list[str] | None) -> dict[str, bool]:
        """Every enabled channel serving the agency, and whether this item asked for it.
        A request may name a channel instance or a kind (``archive`` → every archive
        receiver). An instance that does not serve the agency (its ``agencies`` list, an
        overlay ``use = "none"``, its plug-in's default) gets no delivery at all."""
        enabled = {
            name: cfg
            for name, cfg in self.settings.enabled_channels().items()
            if overlays.resolve(self.settings, self.registry, name, agency_code) is not None
        }
        if requested is None:
            return {name: True for name in enabled}
        asked = set(requested)
        return {name: name in asked or cfg.kind in asked for name, cfg in enabled.items()}

    def record_keeping_channels(self) -> set[str]:
        """Enabled channels whose waiting publications a retraction must not cancel."""
        enabled = self.settings.enabled_channels()
        return {name for name, cfg in enabled.items() if channel_class(cfg.kind).keeps_records}

    def channel_names(self) -> set[str]:
        """Names an item may use in ``channels``: configured instances and every known
        kind (a kind this installation does not run is simply not delivered)."""
        return set(self.settings.channels) | kinds()


def build_services(settings: Settings) -> Services:
    return Services(settings=settings, engine=make_engine(settings.database_url))
