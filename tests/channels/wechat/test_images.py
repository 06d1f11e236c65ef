"""Body images of a WeChat article under the outbound policy, through the runner
against the sandbox: what cannot be fetched becomes visible alt text and the article
goes out; the source is never told why (no port scanner); ``missing_images = "fail"``
holds the item instead. Names resolve through the test resolver, and the suite's
connect guard fails any test that tries to connect beyond loopback."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from channels.wechat.sandbox import SandboxServer
from tests.channels.wechat.conftest import Driver, record, wechat_channels
from tests.channels.wechat.test_publish import settle
from tests.listener import Listener
from tests.netguard import FakeDNS

# What the source must never read: the reasons a port scanner would use.
REASONS = re.compile(r"refused|disconnect|HTTP \d|169\.254|10\.0\.0|resolve|timeout|not a public", re.I)


@pytest.fixture
def images() -> Iterator[Listener]:
    """The agency's own (allow-listed) image host."""
    with Listener() as listener:
        yield listener


@pytest.fixture
def internal() -> Iterator[Listener]:
    """A service on loopback that is *not* allow-listed: it must never be reached."""
    with Listener() as listener:
        yield listener


@pytest.fixture
def dns(fake_dns: Callable[[dict[str, list[str]]], FakeDNS]) -> FakeDNS:
    return fake_dns({"metadata.test": ["169.254.169.254"], "intranet.test": ["10.0.0.7"]})


@pytest.fixture
def build(build_driver: Any, sandbox: SandboxServer, wechat_redis: str) -> Callable[..., Driver]:
    def make(**options: Any) -> Driver:
        channels = wechat_channels(sandbox, wechat_redis, **options)
        result: Driver = build_driver(channels, outbound={"allow": ["localhost"]})
        return result

    return make


def body(images: Listener, internal: Listener) -> str:
    """Six images: one that works and five that cannot be had, each another way."""
    return (
        "<p>正文</p>"
        f'<p><img src="http://localhost:{images.port}/image.png" alt="可取的图片"></p>'
        f'<p><img src="http://localhost:{images.port}/missing.png" alt="已删除的图片"></p>'
        '<p><img src="http://nowhere.test/a.png" alt="无法解析的图片"></p>'
        '<p><img src="http://metadata.test/latest/meta-data/" alt="元数据"></p>'
        f'<p><img src="{internal.url()}" alt="内网服务"></p>'
        f'<p><img src="http://localhost:{images.port}/redirect?to={internal.url()}"></p>'
    )


def test_images_that_cannot_be_fetched_become_alt_text_and_the_item_goes_out(
    build: Callable[..., Driver], sandbox: SandboxServer, images: Listener, internal: Listener, dns: FakeDNS
) -> None:
    driver = build()
    driver.submit(1, body_html=body(images, internal))
    [row] = settle(driver)
    assert row["state"] == "delivered", row["last_error"]
    [draft] = record(sandbox)["drafts"]
    content = draft["received"][0]["content"]
    assert len(re.findall(r"<img ", content)) == 1
    for alt in ("已删除的图片", "无法解析的图片", "元数据", "内网服务"):
        assert f"[图片：{alt}]" in content
    assert "[图片]" in content  # the one without alt text is still visible
    assert internal.connections == 0
    notes = row["external_ref"]["notes"]
    assert notes == [f"image {n} could not be fetched: shown as its alt text" for n in range(2, 7)]
    status = driver.services.store.item_status("test", "t-1")  # what GET /v1/items/… answers
    seen_by_source = json.dumps(status["deliveries"], ensure_ascii=False)
    assert "could not be fetched" in seen_by_source and not REASONS.search(seen_by_source)
    assert str(internal.port) not in seen_by_source


def test_missing_images_fail_holds_the_item_without_saying_why(
    build: Callable[..., Driver], sandbox: SandboxServer, images: Listener, internal: Listener, dns: FakeDNS
) -> None:
    driver = build(missing_images="fail")
    driver.submit(1, body_html=f'<p><img src="{internal.url()}" alt="内网服务"></p>')
    [row] = settle(driver)
    assert row["state"] == "dead" and row["attempts"] == 1
    assert row["last_error_class"] == "PermanentError"
    assert "image 1 of the body could not be fetched" in row["last_error"]
    assert not REASONS.search(row["last_error"])
    assert record(sandbox)["drafts"] == [] and internal.connections == 0


def test_an_endless_image_is_cut_off_at_the_limit(
    build: Callable[..., Driver], sandbox: SandboxServer, images: Listener
) -> None:
    driver = build()
    driver.submit(1, body_html=f'<p><img src="http://localhost:{images.port}/endless" alt="巨图"></p>')
    [row] = settle(driver)
    assert row["state"] == "delivered"
    assert "[图片：巨图]" in record(sandbox)["drafts"][0]["received"][0]["content"]
    # 10 MiB read, then the connection closed: what was sent is that plus socket buffers
    assert images.sent < 40 * 1024 * 1024
