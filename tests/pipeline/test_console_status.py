"""``govpub status``: the console's overview as terminal tables; ``--watch`` refreshes it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from pipeline.app import create_app
from pipeline.cli.main import main
from pipeline.schema import upgrade
from pipeline.services import build_services
from tests.helpers import TEST_AGENCY, TEST_AGENCY_NAME, LiveServer, make_item, register_agencies, wait_until
from tests.pipeline.test_console_pages import Parked


def test_status_shows_the_overview_and_watch_refreshes_it(settings_for: Any, tmp_path: Path) -> None:
    services = build_services(settings_for())
    upgrade(services.engine)
    register_agencies(services.engine, {TEST_AGENCY: TEST_AGENCY_NAME})
    token = services.store.add_source("test")
    headers = {"authorization": f"Bearer {token}"}
    with LiveServer(create_app(services.settings, services, dispatcher=Parked())) as server:
        import httpx

        assert httpx.post(f"{server.url}/v1/items", json=make_item(1), headers=headers).status_code == 202
        shown = CliRunner().invoke(main, ["status", "--url", server.url], env={"COLUMNS": "200"})
        assert shown.exit_code == 0, shown.output
        assert "govpub channels" in shown.stdout and "this week" in shown.stdout
        assert re.search(r"memory\s*│\s*memory\s*│\s*n/a\s*│\s*1\s*│\s*#1", shown.stdout), shown.stdout

        screen = tmp_path / "screen.txt"
        env = {**os.environ, "COLUMNS": "200", "TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1"}
        with screen.open("wb") as out:
            watch = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "pipeline.cli",
                    "status",
                    "--watch",
                    "--interval",
                    "0.2",
                    "--url",
                    server.url,
                ],
                stdout=out,
                env=env,
            )
        try:
            waiting = r"memory\s*│\s*memory\s*│\s*n/a\s*│\s*{}\s*│"
            wait_until(lambda: re.search(waiting.format(1), screen.read_text("utf-8")), what="first frame")
            assert httpx.post(f"{server.url}/v1/items", json=make_item(2), headers=headers).status_code == 202
            wait_until(
                lambda: re.search(waiting.format(2), screen.read_text("utf-8")), what="a refreshed frame"
            )
        finally:
            watch.send_signal(signal.SIGINT)
            assert watch.wait(30) == 0
    services.engine.dispose()
