"""The archive channel's part of ``govpub demo``: two per-item receivers, a directory
drop (``district-archives``) and an HTTP upload to the archive sandbox started here in a
thread (``public-library``)."""

from __future__ import annotations

import threading

from pipeline.config import ChannelConfig
from pipeline.localcluster import free_port, wait_http
from pipeline.plugin import DemoPart, DemoSetup

ORGANIZATION = "张店区教育局"  # the demo items' agency


def part(setup: DemoSetup) -> DemoPart:
    import uvicorn

    from channels.archive.sandbox import create_app

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(setup.folder / "archive-sandbox", None),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    threading.Thread(target=server.run, name="archive-sandbox", daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/packages")
    setup.stop.callback(setattr, server, "should_exit", True)
    drop = setup.folder / "archive-drop" / "district-archives"
    common = {"schedule": "per-item", "source_organization": ORGANIZATION}
    channels = {
        "district-archives": ChannelConfig(
            kind="archive", options={**common, "transport": {"kind": "directory", "path": str(drop)}}
        ),
        "public-library": ChannelConfig(
            kind="archive", options={**common, "packing": "zip", "transport": {"kind": "http", "url": url}}
        ),
    }
    where = f"  archives     {drop}/  and {url}/packages  (check with: govpub archive verify FILE)"
    return DemoPart(channels, (where,))
