"""The demo's configuration: each installed plug-in's part (``plugin.demo``: its
instances, pointed at the sandbox it starts here in a thread), written to
``./govpub.toml`` before the demo runs with it, so that the commands run after the
demo (``govpub report``, ``govpub serve``, a channel's own commands) see the same channels.

The file starts with :data:`MARKER`; a later demo rewrites only such a file. A
configuration of the user's own (a ``govpub.toml`` without the marker, a file named by
``GOVPUB_CONFIG``, channels set in the environment) is used as it is: the demo starts no
sandbox and writes nothing.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from pipeline import registry
from pipeline.config import AgencyConfig, ChannelConfig, Settings
from pipeline.files import write_atomic
from pipeline.plugin import DemoSetup

DEMO_FILE = Path("govpub.toml")
MARKER = "# Written by `govpub demo`"
# The demo's agencies (code, name, column path): the education bureau of the seed report,
# heading the demo platform (the WeChat plug-in's instance account is its), and the health
# bureau, with items of its own from a source of its own.
DEMO_AGENCIES = (
    ("113703030000000000", "张店区教育局", "jyj"),
    ("11370303MB0000002Y", "张店区卫生健康局", "wjj"),
)
HEADER = f"""{MARKER}: the channels it ran with, pointed at the sandboxes it started,
# so that the commands after it (govpub report, govpub serve …) see the same ones.
# The next `govpub demo` rewrites this file while its first line is the one above;
# change that line and the file is yours (the demo then leaves it alone).
"""


@dataclass
class Demo:
    """What the demo runs with: its settings, the sandboxes to stop, where to look."""

    settings: Settings
    stop: ExitStack = field(default_factory=ExitStack)
    where: list[str] = field(default_factory=list)

    def close(self) -> None:
        self.stop.close()


def users_configuration() -> str | None:
    """What makes the configuration the user's (the demo then leaves it alone), or None."""
    if os.environ.get("GOVPUB_CONFIG"):
        return f"GOVPUB_CONFIG={os.environ['GOVPUB_CONFIG']}"
    if any(name.upper().startswith("GOVPUB_CHANNELS") for name in os.environ):
        return "channels set in the environment"
    if DEMO_FILE.is_file() and not DEMO_FILE.read_text("utf-8").startswith(MARKER):
        return str(DEMO_FILE)
    return None


def demo_settings(settings: Settings, port: int) -> Demo:
    """The demo's settings (and sandboxes) for an embedded instance on ``port``."""
    local = f"http://127.0.0.1:{port}"
    theirs = users_configuration()
    if theirs is not None:
        if "public_url" not in settings.model_fields_set:  # links must point at this instance
            settings = settings.model_copy(update={"public_url": local})
        return Demo(settings, where=[f"  configuration {theirs} (yours: used as it is, no sandboxes)"])
    demo = Demo(settings)
    public_url = os.environ.get("GOVPUB_PUBLIC_URL") or local
    offered = {p.kind: p.demo for p in registry.plugins().values() if p.demo is not None}
    setup = DemoSetup(Path(settings.data_dir), public_url, frozenset(offered), demo.stop, DEMO_AGENCIES)
    channels: dict[str, ChannelConfig] = {}
    overlays: dict[str, dict[str, dict[str, Any]]] = {}
    for take_part in offered.values():
        part = take_part(setup)
        channels.update(part.channels)
        demo.where += part.where
        for code, options in part.overlays.items():
            overlays.setdefault(code, {}).update(options)
    agencies = {code: AgencyConfig(channels=options) for code, options in overlays.items()}
    update = {"public_url": public_url, "channels": channels, "agencies": agencies}
    demo.settings = settings.model_copy(update=update)
    write_configuration(DEMO_FILE, demo.settings)
    demo.where.append(
        f"  configuration {DEMO_FILE.resolve()} (written by the demo, for the commands after it)"
    )
    return demo


def write_configuration(path: Path, settings: Settings) -> None:
    """The demo's channels, agency overlays and public URL as TOML, after :data:`HEADER`."""
    channels = {
        name: cfg.model_dump(mode="json", exclude_defaults=True, exclude_none=True)
        for name, cfg in settings.channels.items()
    }
    agencies = {
        code: cfg.model_dump(mode="json", exclude_defaults=True, exclude_none=True)
        for code, cfg in settings.agencies.items()
    }
    document: dict[str, Any] = {"public_url": settings.public_url, "channels": channels}
    if agencies:
        document["agencies"] = agencies
    body = tomli_w.dumps(document)
    write_atomic(path, (HEADER + "\n" + body).encode("utf-8"))
