"""Bad website options stop start-up with the key, the value and what is valid."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from channels.website.channel import WebsiteChannel
from pipeline.errors import ConfigError

BASE = {"adapter": "http", "base_url": "http://127.0.0.1:9/documents", "token_env": "GOVPUB_TEST_CMS_T"}


def build(settings_for: Any, options: dict[str, Any]) -> WebsiteChannel:
    return WebsiteChannel("website", options, SimpleNamespace(settings=settings_for()))


@pytest.mark.parametrize(
    ("options", "key", "says"),
    [
        ({"adapter": "ftp"}, "channels.website.options.adapter", '"static" or "http"'),
        ({"page_size": 1}, "channels.website.options.page_size", "greater than or equal to 2"),
        ({"colour": "red"}, "channels.website.options.colour", "Extra inputs"),
        ({**BASE, "base_url": "cms.example"}, "channels.website.options.base_url", "pattern"),
        ({**BASE, "secret_env": "GOVPUB_TEST_UNSET"}, "channels.website.options.secret_env", "secret_file"),
        ({**BASE, "fields": {"title": "headline"}}, "options.fields.title", "item field"),
        ({**BASE, "token": "t"}, "channels.website.options.token", "never put a secret"),
        ({**BASE, "secret": "s"}, "channels.website.options.secret", "never put a secret"),
        ({**BASE, "secret_file": "/nonexistent/secret"}, "options.secret_file", "No such file"),
    ],
)
def test_bad_options_name_the_key(
    settings_for: Any, monkeypatch: pytest.MonkeyPatch, options: dict[str, Any], key: str, says: str
) -> None:
    monkeypatch.delenv("GOVPUB_TEST_UNSET", raising=False)
    monkeypatch.setenv("GOVPUB_TEST_CMS_T", "t")
    monkeypatch.setenv("GOVPUB_CMS_SECRET", "s")
    with pytest.raises(ConfigError) as caught:
        build(settings_for, options)
    assert key in caught.value.key and says in str(caught.value)


def test_credentials_come_from_files_or_the_environment(
    settings_for: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "secret").write_text("from-a-file\n")
    monkeypatch.setenv("GOVPUB_CMS_TOKEN", "from-the-env")
    options = {**BASE, "token_env": "GOVPUB_CMS_TOKEN", "secret_file": str(tmp_path / "secret")}
    channel = build(settings_for, options)
    adapter: Any = channel.adapter
    assert (adapter.token, adapter.secret) == ("from-the-env", "from-a-file")
    assert channel.files_dir is None


def test_the_static_adapter_is_the_default(settings_for: Any, tmp_path: Path) -> None:
    channel = build(settings_for, {})
    assert channel.files_dir == (tmp_path / "data" / "site").resolve()


def test_a_cms_field_may_come_from_a_field_a_kind_adds(
    settings_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOVPUB_TEST_CMS_T", "t")
    monkeypatch.setenv("GOVPUB_CMS_SECRET", "s")
    channel = build(settings_for, {**BASE, "fields": {"short_title": "wechat_title", "title": "title"}})
    adapter: Any = channel.adapter
    assert adapter.fields == {"short_title": "wechat_title", "title": "title"}
