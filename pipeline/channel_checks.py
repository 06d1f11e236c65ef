"""Whether every configured channel can work, asked of the channels themselves.

Each channel class checks its own options (:meth:`pipeline.channel.Channel.check_options`):
unknown keys, bad values, a secret missing or written where only an environment
variable belongs, a file that is not there. ``govpub serve``, ``worker`` and ``beat``
refuse to start while one cannot work (exit 1, naming the key, the value and what would
be valid), rather than leave its deliveries queued forever or dying one by one; a
running ``serve`` answers ``/readyz`` with 503 naming it (a secret file removed under
it). The core names no channel: it asks each enabled instance's class.
"""

from __future__ import annotations

from pipeline.config import Settings
from pipeline.errors import ConfigError


def channel_problems(settings: Settings) -> dict[str, str]:
    """Enabled channel instances that cannot work, each with why; empty when all can."""
    from pipeline.channel import channel_class

    problems: dict[str, str] = {}
    for name, cfg in settings.enabled_channels().items():
        try:
            channel_class(cfg.kind).check_options(name, cfg.options)
        except ConfigError as exc:
            problems[name] = str(exc)
    return problems
