"""What a plug-in declaration (:class:`pipeline.plugin.ChannelPlugin`) must hold, checked
the way the core will use it: every factory called, every folder looked at."""

from __future__ import annotations

from pathlib import Path

from pipeline.channel import Channel
from pipeline.plugin import ChannelPlugin, ReportRole


def plugin_problems(plugin: ChannelPlugin, entry_point_name: str | None = None) -> list[str]:
    """Everything wrong with ``plugin`` (empty when it is sound); ``entry_point_name`` is
    the name it is installed under, which must be its kind."""
    problems: list[str] = []
    if not plugin.kind.isidentifier() or plugin.kind != plugin.kind.lower():
        problems.append(f"kind {plugin.kind!r}: a lower-case identifier (it names rows and commands)")
    if entry_point_name is not None and entry_point_name != plugin.kind:
        problems.append(f"installed as {entry_point_name!r} but declares kind {plugin.kind!r}")
    if not plugin.label or plugin.label.isascii():
        problems.append(f"label {plugin.label!r}: the kind's name in Chinese, as operators say it")
    if not isinstance(plugin.report_role, ReportRole):
        problems.append(f"report_role {plugin.report_role!r}: a pipeline.plugin.ReportRole")
    channel = plugin.channel()
    if not (isinstance(channel, type) and issubclass(channel, Channel)):
        problems.append(f"channel() gave {channel!r}, not a Channel subclass")
    elif channel.kind != plugin.kind:
        problems.append(f"{channel.__name__}.kind is {channel.kind!r}, the plug-in's kind {plugin.kind!r}")
    if plugin.migrations is not None and not Path(plugin.migrations).is_dir():
        problems.append(f"migrations {plugin.migrations}: not a folder")
    if plugin.tables is not None and plugin.migrations is None:
        problems.append("tables without migrations: who would create them?")
    for path in plugin.public_links.values():
        if not path.startswith("/"):
            problems.append(f"public link {path!r}: a path from the site root")
    for name, factory in (("cli", plugin.cli), ("sandbox", plugin.sandbox)):
        command = factory() if factory is not None else None
        if command is not None and not command.name:
            problems.append(f"{name}() gave a command without a name")
        if command is not None and name == "cli" and command.name in _core_commands():
            problems.append(f"cli is named {command.name!r}, like one of govpub's own commands")
    if plugin.routes is not None:
        plugin.routes()  # imports and builds: a broken router shows here, not at serve
    for page in plugin.console_pages:
        page.router()
    return problems


def _core_commands() -> set[str]:
    from pipeline.cli.main import main

    return set(main.commands)
