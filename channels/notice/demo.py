"""The notice channel's part of ``govpub demo``: a service hall's board with a print
queue and a public library's reading room (政府信息查阅点), their folders under the demo's
data, served read-only by the notice sandbox, which is also the CUPS print server the
demo's fake ``lp`` sends to (started here in a thread)."""

from __future__ import annotations

from pipeline.config import ChannelConfig
from pipeline.plugin import DemoPart, DemoSetup

NAME = "notices"


def part(setup: DemoSetup) -> DemoPart:
    from channels.notice.sandbox import start, write_lp

    root = setup.folder / "notice-boards"
    server = start(root, queues=("hall",))
    setup.stop.callback(server.shutdown)
    lp = write_lp(setup.folder / "notice-bin")
    places = {
        "hall": {
            "kind": "board",
            "label": "区政务服务大厅公告栏",
            "folder": str(root / "hall"),
            "printer": "hall",
        },
        "library": {"kind": "room", "label": "区图书馆政府信息查阅点", "folder": str(root / "library")},
    }
    options = {"places": places, "lp_command": str(lp), "cups_server": server.cups_server}
    where = (
        f"  notices      {server.url}/  (print jobs: {server.url}/printers/hall/jobs;"
        " weekly bundle: govpub notice bundle --room library --week YYYY-Www)"
    )
    return DemoPart({NAME: ChannelConfig(kind="notice", options=options)}, (where,))
