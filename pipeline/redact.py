"""No filesystem path of the installation in any answer.

The readers choose what they show (a source sees its items' states and public links,
never receipts; the overview shows counts), but free text reaches answers too: a
channel's error ("Permission denied: '/var/lib/govpub/archive/…'"), an archive
receipt, a figures file. :class:`HidePaths` is the last step of every JSON, HTML and
text answer of ``govpub serve`` (published files aside: those under the plug-ins'
:attr:`~pipeline.plugin.ChannelPlugin.served_paths` and the console's assets): any path
under the installation's own folders (``data_dir``, the database's folder, the
configuration's, every absolute path in a channel's options) becomes
``…/<last part>``, so an operator still recognises the file and nobody learns the
layout of the machine.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# A path goes on until a character that cannot be in one as written in messages.
STOP = r"\s'\"<>&;,()\[\]{}"
TAIL = rf"(?:/[^{STOP}]*)*"
END = rf"(?=/|[{STOP}]|$)"  # a root ends where a folder name ends, not inside a longer one
REDACTED_TYPES = ("application/json", "text/")


class PathRedactor:
    """Replaces paths under ``roots`` (two levels deep at least) with ``…/<last part>``."""

    def __init__(self, roots: Iterable[str | Path]) -> None:
        kept = {str(r).rstrip("/") for r in roots if len(Path(r).parts) >= 3}
        ordered = sorted(kept, key=len, reverse=True)
        self.pattern = (
            re.compile(r"(?<![\w.~-])(?:" + "|".join(re.escape(r) for r in ordered) + r")" + END + TAIL)
            if ordered
            else None
        )

    def __call__(self, text: str) -> str:
        if self.pattern is None:
            return text
        return self.pattern.sub(_last_part, text)


def _last_part(found: re.Match[str]) -> str:
    last = found.group().rstrip("/").rsplit("/", 1)[-1]
    return f"…/{last}"


def installation_roots(settings: Any) -> list[Path]:
    """The folders whose paths must not be shown: each as configured and resolved."""
    from pipeline.config import config_path

    found: list[Path] = [Path(settings.data_dir)]
    if settings.database_url.startswith("sqlite"):
        found.append(Path(settings.database_url.split("///", 1)[-1]).parent)
    try:
        config = config_path()
    except Exception:  # an unreadable GOVPUB_CONFIG stops start-up elsewhere
        config = None
    if config is not None:
        found.append(config.parent)
    for channel in settings.channels.values():
        found += [Path(value) for value in _strings(channel.options) if value.startswith("/")]
    return [p for path in found for p in (path, path.expanduser().resolve())]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str | Path):
        yield str(value)


class HidePaths:
    """ASGI middleware: every JSON or text answer (but published files) goes through the
    redactor, with its Content-Length set again."""

    def __init__(self, app: ASGIApp, redactor: PathRedactor, published: tuple[str, ...] = ()) -> None:
        self.app, self.redactor = app, redactor
        self.published = published  # path prefixes of files served as they are

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(self.published) or self.redactor.pattern is None:
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def redacting(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = MutableHeaders(raw=list(message.get("headers", [])))
                if headers.get("content-type", "").startswith(REDACTED_TYPES):
                    start = message
                    return
            elif message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                await self._send_redacted(start, b"".join(chunks), send)
                return
            await send(message)

        await self.app(scope, receive, redacting)

    async def _send_redacted(self, start: Message, body: bytes, send: Send) -> None:
        text = self.redactor(body.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")
        headers = MutableHeaders(raw=list(start.get("headers", [])))
        headers["content-length"] = str(len(text))
        await send({**start, "headers": headers.raw})
        await send({"type": "http.response.body", "body": text})
