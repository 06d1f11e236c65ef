"""The worked example of docs/channels/writing-a-channel.md is real and works: the doc
shows exactly the files of tests/channels/example_noticeboard/; installed through a
``govpub.channels`` entry point (a distribution's metadata on the path, as pip would
leave it) and nothing in pipeline/ touched, it is listed, keeps the contract, and an
item submitted to the intake reaches the board and is counted in the report."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from channels.testing import (
    ChannelContract,
    ContractSetup,
    accept_item,
    example_item,
    installation,
    plugin_problems,
)
from pipeline import registry
from pipeline.app import create_app
from pipeline.channel import channel_class
from pipeline.errors import ConfigError
from pipeline.model import Published
from tests.channels.example_noticeboard.sandbox import Board
from tests.channels.example_noticeboard.sandbox import create_app as board_app
from tests.helpers import ROOT, LiveServer, wait_until

EXAMPLE = ROOT / "tests/channels/example_noticeboard"
DOC = ROOT / "docs/channels/writing-a-channel.md"
ENTRY_POINTS = "[govpub.channels]\nnoticeboard = tests.channels.example_noticeboard.plugin:plugin\n"


def install(site: Path) -> None:
    """What ``pip install`` of a distribution declaring the entry point leaves behind."""
    info = site / "govpub_noticeboard-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: govpub-noticeboard\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    install(tmp_path / "site")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    registry.refresh()  # the entry points are read once per process
    yield
    monkeypatch.undo()
    registry.refresh()


@pytest.fixture
def board(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Board]]:
    monkeypatch.setenv("GOVPUB_NOTICEBOARD_TOKEN", "sandbox-token")
    state = Board()
    with LiveServer(board_app(state)) as server:
        yield f"{server.url}/api", state


def test_the_doc_shows_the_example_files_as_they_are() -> None:
    shown = dict(
        re.findall(r"```python\n# (example_noticeboard/\S+\.py)\n(.*?)```", DOC.read_text("utf-8"), re.S)
    )
    files = {
        f"example_noticeboard/{p.name}": p.read_text("utf-8")
        for p in EXAMPLE.glob("*.py")
        if p.stem != "__init__"
    }
    assert shown.keys() == files.keys()
    for name, text in files.items():
        assert shown[name] == text, f"{name} in {DOC.name} differs from the file"


@pytest.mark.usefixtures("installed")
def test_installed_by_its_entry_point_alone() -> None:
    declared = registry.plugin("noticeboard")
    assert plugin_problems(declared, "noticeboard") == []
    assert registry.label("noticeboard") == "电子公告屏"
    with registry.without(["noticeboard"]), pytest.raises(ConfigError, match="noticeboard"):
        registry.plugin("noticeboard")


@pytest.mark.usefixtures("installed")
def test_a_literal_token_is_refused_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        channel_class("noticeboard").check_options("board", {"url": "http://127.0.0.1:9", "token": "t"})
    assert refused.value.key == "channels.board.options.token"


@pytest.mark.usefixtures("installed")
class TestNoticeboardContract(ChannelContract):
    @pytest.fixture
    def contract(self, tmp_path: Path, board: tuple[str, Board]) -> Iterator[ContractSetup]:
        url, state = board
        with installation(tmp_path, {"board": {"kind": "noticeboard", "options": {"url": url}}}) as services:
            yield ContractSetup(
                channel=services.channel("board"),
                services=services,
                item=lambda n, **c: accept_item(services, n, **c),
                copies=lambda item: int(item.index_no in state.notices and _shows(state, item)),
            )


def _shows(state: Board, item: Published) -> bool:
    return state.notices[item.index_no]["revision"] == item.revision


@pytest.mark.usefixtures("installed")
def test_an_item_reaches_the_board_through_the_pipeline(tmp_path: Path, board: tuple[str, Board]) -> None:
    url, state = board
    channels = {"board": {"kind": "noticeboard", "options": {"url": url}}}
    with (
        installation(tmp_path, channels) as services,
        TestClient(create_app(services.settings, services)) as api,
    ):
        auth = {"authorization": f"Bearer {services.store.add_source('test')}"}
        assert api.post("/v1/items", json=example_item(1), headers=auth).status_code == 202
        shown = wait_until(lambda: list(state.notices.values()), 30, "the notice on the board")
        assert shown[0]["title"] == "测试公开信息 1"

        def delivered() -> dict[str, object] | None:
            (delivery,) = api.get("/v1/items/test/t-1", headers=auth).json()["deliveries"]
            return delivery if delivery["state"] == "delivered" else None

        delivery = wait_until(delivered, 30, "the delivery recorded as delivered")
        assert delivery["channel"] == "board"
        year = datetime.now(ZoneInfo(services.settings.timezone)).year
        report = api.get(f"/v1/reports/{year}")
        assert report.status_code == 200, report.text
        assert report.json()["counts"]["totals"]["other"] == 1  # ReportRole.OTHER: 其他渠道
