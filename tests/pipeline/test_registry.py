"""The installed channel kinds come from the ``govpub.channels`` entry points only, each a
plug-in declaration; the core takes routes, links, defaults and page addresses from them,
so a kind left out (uninstalled, or filtered as here) leaves no trace."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pipeline import registry
from pipeline.app import create_app
from pipeline.channel import channel_class
from pipeline.config import ChannelConfig, default_channels, load_settings
from pipeline.errors import ConfigError
from pipeline.plugin import ChannelPlugin
from pipeline.schema import upgrade
from pipeline.services import build_services
from pipeline.urls import pages_root
from tests.helpers import TEST_AGENCY, TEST_AGENCY_NAME, register_agencies


def test_every_entry_point_is_a_plugin_whose_class_has_its_kind() -> None:
    installed = {ep.name for ep in entry_points(group=registry.GROUP)}
    assert set(registry.plugins()) == installed >= {"memory", "website", "feed", "wechat", "archive"}
    for kind, declared in registry.plugins().items():
        assert isinstance(declared, ChannelPlugin)
        assert channel_class(kind).kind == kind


def test_listing_the_plugins_imports_no_channel_module() -> None:
    """Only each kind's package and its ``plugin`` module: a process that does not use a
    channel (the CLI's help, a worker of another queue) pays nothing for it."""
    probe = (
        "import sys; from pipeline import registry; registry.plugins(); "
        "print(sorted(m for m in sys.modules if m.startswith('channels.')))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    loaded = set(ast.literal_eval(out))
    kinds = registry.kinds()
    assert loaded == {f"channels.{k}" for k in kinds} | {f"channels.{k}.plugin" for k in kinds}


def test_an_unknown_kind_names_the_installed_ones() -> None:
    with pytest.raises(ConfigError) as refused:
        registry.plugin("telegraph")
    assert "telegraph" in str(refused.value) and str(sorted(registry.kinds())) in str(refused.value)


def test_a_kind_left_out_is_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    with registry.without({"feed"}):
        assert "feed" not in registry.kinds()
        assert list(default_channels()) == ["website"]
        with pytest.raises(ConfigError, match=r"channels\.news\.kind"):
            load_settings(channels={"news": ChannelConfig(kind="feed")})
    assert list(default_channels()) == ["website", "feed"]  # the portal first, as before
    with registry.only({"memory"}):
        assert registry.kinds() == {"memory"}
    installed = {ep.name for ep in entry_points(group=registry.GROUP)}
    monkeypatch.setenv(registry.EXCLUDE_ENV, "wechat, archive")
    assert registry.kinds() == installed - {"wechat", "archive"} and "website" in registry.kinds()


@pytest.fixture
def broken_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A distribution whose plug-in cannot be imported (a dependency of it is missing),
    installed as ``pip install`` leaves one: a dist-info declaring the entry point."""
    site = tmp_path / "site"
    (site / "govpub_broken").mkdir(parents=True)
    (site / "govpub_broken" / "__init__.py").write_text("")
    (site / "govpub_broken" / "plugin.py").write_text("raise ImportError('no module named smsgateway')\n")
    info = site / "govpub_broken-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: govpub-broken\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[govpub.channels]\nsms = govpub_broken.plugin:plugin\n")
    monkeypatch.syspath_prepend(str(site))
    registry.refresh()
    yield
    monkeypatch.undo()
    sys.modules.pop("govpub_broken", None)
    registry.refresh()


@pytest.mark.usefixtures("broken_installed")
def test_a_broken_plugin_left_out_is_never_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ImportError, match="smsgateway"):
        registry.plugins()  # installed and not left out: start-up says what is wrong
    monkeypatch.setenv(registry.EXCLUDE_ENV, "sms")
    assert registry.kinds() == {ep.name for ep in entry_points(group=registry.GROUP)} - {"sms"}
    assert channel_class("website").kind == "website"
    assert "govpub_broken.plugin" not in sys.modules
    monkeypatch.delenv(registry.EXCLUDE_ENV)
    with registry.without({"sms"}):
        assert "sms" not in registry.kinds() and registry.pages_path() == "/site"
    with registry.only({"memory"}):
        assert registry.kinds() == {"memory"}


def test_item_pages_are_where_the_portal_plugin_publishes_them(settings_for: Any) -> None:
    settings = settings_for(public_url="https://gov.example.cn/")
    assert pages_root(settings) == "https://gov.example.cn/site"
    with registry.without({"website"}):
        assert pages_root(settings) == "https://gov.example.cn"


def served(settings: Any) -> tuple[int, int, str]:
    """``/site``'s and ``/feeds/all.rss``'s status, and the home page, of an app built now."""
    services = build_services(settings)
    upgrade(services.engine)
    register_agencies(services.engine, {TEST_AGENCY: TEST_AGENCY_NAME})
    with TestClient(create_app(settings, services), follow_redirects=False) as client:
        site = client.get("/site").status_code
        feed = client.get("/feeds/all.rss").status_code
        home = client.get("/").text
    services.engine.dispose()
    return site, feed, home


def test_the_app_mounts_the_routes_and_links_of_what_is_installed(settings_for: Any) -> None:
    both = {"website": ChannelConfig(kind="website"), "feed": ChannelConfig(kind="feed")}
    site, feed, home = served(settings_for(channels=both))
    assert site == 308 and feed == 200  # the column redirects to /site/; the feed, empty, is there
    assert "href='/site/'" in home and "href='/feeds/all.rss'" in home
    with registry.without({"website"}):
        site, feed, home = served(settings_for(channels={"feed": ChannelConfig(kind="feed")}))
    assert site == 404 and feed == 200
    assert "/site/" not in home and "href='/feeds/all.atom'" in home
