"""The demo's channels: the defaults plus the ones that need a far end, pointed at the
sandboxes that ship with govpub and run here in threads.

- ``wechat``: publish mode against ``govpub sandbox wechat``, which calls back
  ``/wechat/callback/wechat`` of the demo instance when an article is live;
- ``district-archives`` and ``public-library``: per-item archive receivers, one a
  directory drop, one an HTTP upload to ``govpub sandbox archive``.

A configuration file of the user's own is left as it is.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.config import ChannelConfig, Settings, default_channels
from pipeline.localcluster import free_port, wait_http

WECHAT_TOKEN = "govpubdemo"


@dataclass
class DemoSandboxes:
    wechat_url: str = ""
    archive_url: str = ""
    stoppers: list[Any] = field(default_factory=list)

    def close(self) -> None:
        for stop in self.stoppers:
            stop()


def start_sandboxes(data_dir: Path, port: int) -> DemoSandboxes:
    import uvicorn

    from channels.archive.sandbox import create_app
    from channels.wechat.sandbox import SandboxServer
    from channels.wechat.sandbox_account import Config

    out = DemoSandboxes()
    wechat = SandboxServer(
        "127.0.0.1",
        free_port(),
        Config(
            callback_url=f"http://127.0.0.1:{port}/wechat/callback/wechat",
            callback_token=WECHAT_TOKEN,
        ),
    )
    threading.Thread(target=wechat.serve_forever, daemon=True).start()
    out.wechat_url = wechat.base_url
    out.stoppers.append(wechat.shutdown)

    archive_port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(data_dir / "archive-sandbox", None),
            host="127.0.0.1",
            port=archive_port,
            log_level="warning",
        )
    )
    threading.Thread(target=server.run, daemon=True).start()
    out.archive_url = f"http://127.0.0.1:{archive_port}"
    wait_http(f"{out.archive_url}/packages")
    out.stoppers.append(lambda: setattr(server, "should_exit", True))
    return out


def demo_channels(settings: Settings, sandboxes: DemoSandboxes) -> dict[str, ChannelConfig]:
    organization = "张店区教育局"
    drop = Path(settings.data_dir) / "archive-drop" / "district-archives"
    return {
        **settings.channels,
        "wechat": ChannelConfig(
            kind="wechat",
            depends_on=["website"],
            options={
                "appid": "wxsandbox0000001",
                "api_base_url": f"{sandboxes.wechat_url}/cgi-bin/",
                "token": WECHAT_TOKEN,
                "poll_seconds": 2.0,
            },
        ),
        "district-archives": ChannelConfig(
            kind="archive",
            options={
                "schedule": "per-item",
                "source_organization": organization,
                "transport": {"kind": "directory", "path": str(drop)},
            },
        ),
        "public-library": ChannelConfig(
            kind="archive",
            options={
                "schedule": "per-item",
                "source_organization": organization,
                "packing": "zip",
                "transport": {"kind": "http", "url": sandboxes.archive_url},
            },
        ),
    }


def demo_settings(settings: Settings, port: int) -> tuple[Settings, DemoSandboxes | None]:
    """The settings to run the demo with, and the sandboxes started for it (if any)."""
    if "public_url" not in settings.model_fields_set:  # links must point at this instance
        settings = settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})
    if set(settings.channels) != set(default_channels()):
        return settings, None
    sandboxes = start_sandboxes(Path(settings.data_dir), port)
    os.environ.setdefault("GOVPUB_WECHAT_SECRET", "sandbox-secret")
    return settings.model_copy(update={"channels": demo_channels(settings, sandboxes)}), sandboxes
