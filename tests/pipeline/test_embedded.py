"""The embedded default: ``govpub serve`` alone, SQLite outbox, survives a SIGKILL."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from pipeline.client import GovpubClient
from pipeline.config import load_settings
from pipeline.console.auth import Accounts, User
from pipeline.db import make_engine
from pipeline.demo_setup import MARKER, demo_settings
from pipeline.localcluster import write_config
from pipeline.plugin import ReportRole
from pipeline.store import utcnow
from tests.helpers import TEST_AGENCY, TEST_AGENCY_NAME, free_port, govpub, kill, make_item, wait_until


def test_serve_killed_and_restarted_delivers_every_item(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "govpub.toml",
        {
            "lease_seconds": 3.0,
            "embedded_workers": 1,
            "sweep_interval_seconds": 0.2,
            "agencies": {TEST_AGENCY: {"name": TEST_AGENCY_NAME}},  # the one agency: sources add binds it
        },
        {"memory": {"kind": "memory", "options": {"delay_seconds": 0.3}}},
    )
    env = {"GOVPUB_CONFIG": str(config)}
    added = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "sources", "add", "test"],
        env={**env, "PATH": ""},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    token = added.stdout.strip().splitlines()[-1]
    port = free_port()
    url = f"http://127.0.0.1:{port}"

    def serve() -> subprocess.Popen[bytes]:
        proc = govpub(
            "serve",
            "--port",
            str(port),
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: httpx.get(f"{url}/healthz").status_code == 200, 30, "serve")
        return proc

    first = serve()
    with GovpubClient(url, token) as client:
        answers = client.submit_many([make_item(n) for n in range(20)])
        assert {a["status"] for a in answers} == {202}
        wait_until(lambda: client.counts()["memory"].get("delivered", 0) >= 2, 30, "some deliveries")
    kill(first)
    delivered_before = (tmp_path / "var" / "memory-channel" / "received.log").read_text().splitlines()
    assert 2 <= len(delivered_before) < 20

    second = serve()
    try:
        with GovpubClient(url, token) as client:
            wait_until(lambda: client.counts() == {"memory": {"delivered": 20}}, 60, "all delivered")
    finally:
        kill(second)
    records = (tmp_path / "var" / "memory-channel" / "received.log").read_text().splitlines()
    assert sorted(records) == sorted(f"test~t-{n}~r1~publish.json" for n in range(20))


@dataclass
class DemoRun:
    folder: Path
    port: int
    done: subprocess.CompletedProcess[str]

    def govpub(self, *args: str) -> subprocess.CompletedProcess[str]:
        """A command after the demo, in its folder, with nothing configured but the demo's file."""
        return subprocess.run(
            [sys.executable, "-m", "pipeline.cli", *args],
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=120,
            env={"PATH": "", "HOME": str(self.folder)},
        )


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """``govpub demo --no-serve`` in an empty folder, no configuration, no environment."""
    folder = tmp_path_factory.mktemp("demo")
    run = DemoRun(folder, free_port(), subprocess.CompletedProcess([], 0))
    run.done = run.govpub("demo", "--no-serve", "--port", str(run.port))
    return run


def test_demo_delivers_the_demo_items_and_says_where_to_look(demo_run: DemoRun) -> None:
    done, port, tmp_path = demo_run.done, demo_run.port, demo_run.folder
    assert done.returncode == 0, done.stderr[-3000:]
    assert "submitted 14 demo items" in done.stdout and "(0 refused)" in done.stdout
    for column in ("jyj", "wjj"):  # two agencies, each with its column, and the portal
        assert f"http://127.0.0.1:{port}/site/{column}/" in done.stdout
    assert re.search(rf"portal +http://127.0.0.1:{port}/site/ ", done.stdout), done.stdout
    assert "wxsandbox0000001, wxsandbox0000002" in done.stdout  # the health bureau's own account
    assert "where to look" in done.stdout
    assert f"http://127.0.0.1:{port}/" in done.stdout
    printed = rf"console +http://127.0.0.1:{port}/console/ +\(user demo, password (\S+)\)"
    console = re.search(printed, done.stdout)
    assert console, done.stdout  # the operator can log in to the console with what was printed
    accounts = Accounts(make_engine(f"sqlite:///{tmp_path / 'var' / 'govpub.db'}"), utcnow)
    assert accounts.verify("demo", console[1]) == User("demo", "admin")
    for line in done.stdout.splitlines():  # no channel is left with work on its way
        if line.startswith("│"):
            cells = [c.strip() for c in line.strip("│").split("│")]
            assert cells[1:5] == ["0", "0", "0", "0"], line


def test_the_commands_after_the_demo_see_its_channels(demo_run: DemoRun) -> None:
    assert demo_run.done.returncode == 0, demo_run.done.stderr[-3000:]
    written = (demo_run.folder / "govpub.toml").read_text("utf-8")
    assert written.startswith(MARKER)
    year = datetime.now(ZoneInfo("Asia/Shanghai")).year  # the deliveries' year, in local time
    report = demo_run.govpub("report", "--year", str(year), "--format", "json")
    assert report.returncode == 0, report.stderr[-3000:]
    counts = json.loads(report.stdout)["counts"]
    portal, other, deposit = ReportRole.PORTAL, ReportRole.OTHER, ReportRole.DEPOSIT
    assert counts["totals"] == {portal: 14, other: 14, deposit: 14}  # items, not deliveries
    per_channel = {(c["role"], c["channel"]): c["items"] for c in counts["channels"]}
    assert per_channel == {
        (portal, "website"): 14,
        (other, "email"): 14,
        (other, "feed"): 14,
        (other, "notices"): 14,
        (other, "wechat"): 14,
        (other, "weibo"): 14,
        (deposit, "district-archives"): 14,
        (deposit, "public-library"): 14,
    }
    listed = demo_run.govpub("archive", "list", "--receiver", "district-archives", "--json")
    assert listed.returncode == 0, listed.stderr[-3000:]
    packages = json.loads(listed.stdout)
    assert len(packages) == 14 and all(p["state"].startswith("delivered") for p in packages)


def test_the_demo_columns_have_the_four_sections_and_the_footer(demo_run: DemoRun) -> None:
    assert demo_run.done.returncode == 0, demo_run.done.stderr[-3000:]
    site = demo_run.folder / "var" / "site"
    for path, name in (("jyj", "张店区教育局"), ("wjj", "张店区卫生健康局")):
        pages = {page: (site / path / page).read_text("utf-8") for page in SECTIONS}
        for page, title in SECTIONS.items():  # each section's page, linked from every page
            assert f"<h1>{title}</h1>" in pages[page], (path, page)
            for html in pages.values():
                assert f'<a href="{page}">{title}</a>' in html, (path, page)
        assert f"{name}依照《条例》第十九条" in pages["guide.html"]  # the default guide
        assert pages["index.html"].count("items/") >= 4  # the statutory content: its items
        for html in [*pages.values(), (site / "index.html").read_text("utf-8")]:
            assert "<li>网站标识码：3703030000</li>" in html and "鲁ICP备00000000号</a>" in html
            assert "鲁公网安备 37030302000000号</a>" in html
        assert f"<li>主办单位：{name}</li>" in pages["rules.html"]
    assert "<li>主办单位：淄博市张店区人民政府办公室</li>" in (site / "index.html").read_text("utf-8")
    check = demo_run.govpub("site", "check", "--json")
    assert check.returncode == 1  # the guides and rules are the defaults: named, to configure
    reviews = {row["path"]: row for row in json.loads(check.stdout)}
    assert reviews["jyj"]["guide"] is None and reviews["jyj"]["footer_missing"] == []


SECTIONS = {
    "guide.html": "政府信息公开指南",
    "rules.html": "政府信息公开制度",
    "index.html": "法定主动公开内容",
    "annual-reports.html": "政府信息公开年报",
}


def test_the_demo_leaves_a_configuration_of_the_users_own_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("GOVPUB_")]:
        monkeypatch.delenv(name)
    mine = '# my own\n[channels.column]\nkind = "website"\n'
    (tmp_path / "govpub.toml").write_text(mine, "utf-8")
    demo = demo_settings(load_settings(), 8123)
    assert set(demo.settings.channels) == {"column"} and demo.settings.public_url == "http://127.0.0.1:8123"
    assert not demo.stop._exit_callbacks  # no sandbox started
    assert (tmp_path / "govpub.toml").read_text("utf-8") == mine
    assert "govpub.toml (yours: used as it is, no sandboxes)" in "\n".join(demo.where)
