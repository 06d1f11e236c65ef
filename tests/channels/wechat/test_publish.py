"""Publish mode against the sandbox, through the runner: articles, images, limits, errors."""

from __future__ import annotations

import base64
import io
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from channels.wechat.sandbox import SandboxServer
from channels.wechat.schedule import quota_reset
from pipeline.states import ACTIVE_STATES
from pipeline.urls import item_url
from tests.channels.wechat.conftest import Driver, control, record, wechat_channels
from tests.helpers import wait_until


def png(color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (24, 24), color).save(out, "PNG")
    return out.getvalue()


def settle(driver: Driver, what: str = "wechat deliveries to finish") -> list[dict[str, Any]]:
    """Advance the clock and run what is due until no WeChat delivery is still active."""

    def done() -> list[dict[str, Any]] | None:
        driver.advance(1)
        driver.run_due()
        rows = driver.deliveries()
        return rows if all(r["state"] not in ACTIVE_STATES for r in rows) else None

    result: list[dict[str, Any]] = wait_until(done, timeout=90, what=what)
    return result


@pytest.fixture
def driver(build_driver: Any, sandbox: SandboxServer, wechat_redis: str) -> Driver:
    result: Driver = build_driver(wechat_channels(sandbox, wechat_redis), outbound={"allow": ["127.0.0.1"]})
    return result


def test_an_item_becomes_an_article_whose_url_is_recorded(driver: Driver, sandbox: SandboxServer) -> None:
    data_image = "data:image/png;base64," + base64.b64encode(png((200, 0, 0))).decode()
    body = (
        "<p>正文第一段</p>"
        f'<p><img src="{data_image}" alt="红色示意图"></p>'
        f'<p><img src="{sandbox.base_url}/sandbox/picture.png" alt="外部图片"></p>'
        "<script>alert('x')</script><p onclick=\"steal()\">第二段</p>"
    )
    driver.submit(1, body_html=body, summary="摘要" * 100)

    [row] = settle(driver)
    assert row["state"] == "delivered", row["last_error"]
    ref = row["external_ref"]
    seen = record(sandbox)
    [published] = seen["published"]
    assert ref["article_url"].endswith(f"/s/{published['article_id']}?idx=1")
    assert ref["publish_id"] == seen["submits"][0]["publish_id"]

    [draft] = seen["drafts"]
    [article] = draft["received"]
    uploaded = {u["url"] for u in seen["uploads"] if u["kind"] == "uploadimg"}
    sources = re.findall(r'<img[^>]*src="([^"]*)"', article["content"])
    assert len(sources) == 2 and set(sources) == uploaded  # both images uploaded and rewritten
    assert "<script" not in article["content"] and "onclick" not in article["content"]
    assert draft["kept"][0]["external_images"] == [] and draft["kept"][0]["scripts_removed"] == 0
    assert article["title"] == "测试公开信息 1"
    assert article["content_source_url"] == item_url(
        driver.services.settings, driver.services.store.published(1), agencies=driver.services.registry
    )
    assert len(article["digest"]) == 128 and article["digest"].endswith("…")
    assert [u["kind"] for u in seen["uploads"]].count("thumb") == 1


def test_a_cover_is_uploaded_once_and_reused(
    build_driver: Any, sandbox: SandboxServer, wechat_redis: str, tmp_path: Path
) -> None:
    cover = tmp_path / "cover.png"
    cover.write_bytes(png((0, 90, 160)))
    driver = build_driver(wechat_channels(sandbox, wechat_redis, default_cover=str(cover)))
    for n in (1, 2, 3):
        driver.submit(n)
    rows = settle(driver)
    assert [r["state"] for r in rows] == ["delivered"] * 3
    seen = record(sandbox)
    assert [u["kind"] for u in seen["uploads"]] == ["thumb"]
    thumbs = {d["received"][0]["thumb_media_id"] for d in seen["drafts"]}
    assert thumbs == {seen["uploads"][0]["media_id"]}


def test_attachments_are_listed_as_links_to_the_website(driver: Driver, sandbox: SandboxServer) -> None:
    attachment = {"name": "招生计划表.pdf", "media_type": "application/pdf", "content_base64": "JVBERi0xLjQ="}
    driver.submit(1, attachments=[attachment])
    settle(driver)
    content = record(sandbox)["drafts"][0]["received"][0]["content"]
    page = item_url(
        driver.services.settings, driver.services.store.published(1), agencies=driver.services.registry
    )
    assert f'<a href="{page}">招生计划表.pdf</a>' in content
    assert "阅读原文" in content


def test_a_long_title_is_refused_with_a_hint_and_wechat_title_fixes_it(
    driver: Driver, sandbox: SandboxServer
) -> None:
    long_title = "关于印发张店区二〇一七年普通高中学校招生指标分配实施方案及有关事项的通知"
    assert len(long_title) > 32
    driver.submit(1, title=long_title)
    driver.submit(2, title=long_title, wechat_title="张店区2017年普通高中招生指标分配方案")
    first, second = settle(driver)
    assert first["state"] == "dead"
    assert "wechat_title" in first["last_error"] and "32" in first["last_error"]
    assert second["state"] == "delivered"
    assert [d["received"][0]["title"] for d in record(sandbox)["drafts"]] == [
        "张店区2017年普通高中招生指标分配方案"
    ]


@pytest.mark.parametrize(
    ("fault", "error_class", "says"),
    [
        ({"errcode": -1}, "TransientError", "busy"),
        ({"errcode": 53501}, "RateLimited", "53501"),
        ({"http_status": 503}, "TransientError", "HTTP 503"),
    ],
)
def test_transient_errors_are_retried(
    driver: Driver, sandbox: SandboxServer, fault: dict[str, Any], error_class: str, says: str
) -> None:
    control(sandbox, "faults", path="draft/add", **fault)
    driver.submit(1)
    [row] = settle(driver)
    assert row["state"] == "delivered"
    events = driver.services.store.events(row["id"])
    retried = [e for e in events if e["outcome"] == "retry"]
    assert len(retried) == 1
    assert retried[0]["error_class"] == error_class and says in retried[0]["message"]


@pytest.mark.parametrize(("errcode", "wait"), [(45009, "midnight"), (45011, "minute"), (45066, "minute")])
def test_quota_errors_wait_for_their_reset_without_spending_attempts(
    driver: Driver, sandbox: SandboxServer, errcode: int, wait: str
) -> None:
    control(sandbox, "faults", path="draft/add", errcode=errcode)
    driver.submit(1)
    [row] = wait_until(
        lambda: [r for r in driver.deliveries() if str(errcode) in (r["reason"] or "")] or driver.run_due(),
        what=f"the {errcode} answer",
    )
    assert (row["state"], row["attempts"], row["last_error"]) == ("waiting", 0, None)
    if wait == "midnight":
        assert row["next_attempt_at"] == quota_reset(row["updated_at"])
    else:
        assert row["next_attempt_at"] == row["updated_at"] + timedelta(seconds=61)
    driver.now = row["next_attempt_at"]
    [row] = settle(driver)
    assert row["state"] == "delivered"
    assert [e["outcome"] for e in driver.services.store.events(row["id"])][-2:] == ["waiting", "delivered"]


@pytest.mark.parametrize(
    ("path", "errcode", "says"),
    [
        ("freepublish/submit", 48001, "certified"),
        ("draft/add", 40164, "203.0.113.7"),
        ("freepublish/submit", 53503, "publish check"),
    ],
)
def test_permanent_errors_say_what_the_operator_must_do(
    driver: Driver, sandbox: SandboxServer, path: str, errcode: int, says: str
) -> None:
    control(sandbox, "faults", path=path, errcode=errcode)
    driver.submit(1)
    [row] = settle(driver)
    assert row["state"] == "dead"
    assert row["last_error_class"] == "PermanentError" and says in row["last_error"]
    assert row["attempts"] == 1
    assert record(sandbox)["published"] == []


def test_a_publication_that_fails_review_is_dead_with_its_reason(
    driver: Driver, sandbox: SandboxServer
) -> None:
    control(sandbox, "review", status=4, fail_idx=[1])
    driver.submit(1)
    [row] = settle(driver)
    assert row["state"] == "dead"
    assert "platform review" in row["last_error"] and "publish_status 4" in row["last_error"]


def test_a_lost_submit_answer_never_publishes_twice(
    build_driver: Any, sandbox: SandboxServer, wechat_redis: str
) -> None:
    driver = build_driver(wechat_channels(sandbox, wechat_redis, timeout_seconds=0.5))
    control(sandbox, "faults", path="freepublish/submit", delay=1.5, after=True)  # accepted, answer lost
    driver.submit(1)
    [row] = settle(driver)
    assert row["state"] == "delivered"
    seen = record(sandbox)
    assert len(seen["submits"]) == 1 and len(seen["published"]) == 1
    assert row["external_ref"]["article_id"] == seen["published"][0]["article_id"]


def test_token_expiry_and_invalidation_are_refreshed_once(driver: Driver, sandbox: SandboxServer) -> None:
    driver.submit(1)
    settle(driver)
    assert len(record(sandbox)["token_fetches"]) == 1

    control(sandbox, "tokens", action="expire")  # the next call gets 42001
    driver.submit(2)
    settle(driver)
    assert len(record(sandbox)["token_fetches"]) == 2

    control(sandbox, "config", grace=0)
    control(sandbox, "tokens", action="rotate")  # another system fetched one: 40001
    driver.submit(3)
    rows = settle(driver)
    seen = record(sandbox)
    assert len(seen["token_fetches"]) == 3
    assert [r["state"] for r in rows] == ["delivered"] * 3
    assert all(e["outcome"] != "retry" for r in rows for e in driver.services.store.events(r["id"]))


def test_the_token_retry_is_bounded(driver: Driver, sandbox: SandboxServer) -> None:
    driver.submit(1)
    settle(driver)
    control(sandbox, "faults", path="draft/add", errcode=40001, times=2)
    driver.submit(2)
    rows = settle(driver)
    seen = record(sandbox)
    assert len(seen["token_fetches"]) == 2  # one refresh for the failed call, not a loop
    events = driver.services.store.events(rows[1]["id"])
    assert events[0]["outcome"] == "retry" and "40001" in events[0]["message"]
    assert rows[1]["state"] == "delivered"


def test_retraction_deletes_the_article_by_its_1_based_index(driver: Driver, sandbox: SandboxServer) -> None:
    driver.submit(1)
    settle(driver)
    work = driver.services.store.retract("test", "t-1", "内容有误", now=driver.now)
    assert [c for _, c in work] == ["website", "wechat"]
    rows = settle(driver)
    retraction = rows[-1]
    assert retraction["action"] == "retract" and retraction["state"] == "delivered"
    [deleted] = record(sandbox)["deleted"]
    assert deleted["index"] == 1 and deleted["all"] is False
    assert retraction["external_ref"]["reason"] == "内容有误"


def test_a_new_revision_replaces_the_earlier_article(driver: Driver, sandbox: SandboxServer) -> None:
    driver.submit(1)
    settle(driver)
    driver.submit(1, revision=2, summary="更正后的摘要")
    first, second = settle(driver)
    seen = record(sandbox)
    assert len(seen["published"]) == 2
    assert seen["deleted"] == [{"article_id": first["external_ref"]["article_id"], "index": 1, "all": False}]
    assert second["external_ref"]["replaced"] == first["external_ref"]["article_url"]


def test_health_fetches_the_token_and_names_a_wrong_secret(
    driver: Driver, monkeypatch: pytest.MonkeyPatch
) -> None:
    channel = driver.services.channel("wechat")
    assert channel.health().ok
    monkeypatch.setenv("GOVPUB_WECHAT_SECRET", "wrong")
    channel.client.session.delete(channel.client.access_token_key)  # force a fetch with the wrong secret
    health = channel.health()
    assert not health.ok and "AppSecret" in health.detail


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"appid": "wx1234", "secret": "s3cret"}, "channels.wechat.options.secret"),
        ({"appid": "wx1234", "mode": "push"}, "channels.wechat.options.mode"),
        ({"appid": "wx1234", "token": "cbtoken"}, "channels.wechat.options.token"),
        ({"appid": "wx1234", "encoding_aes_key": "k" * 43}, "channels.wechat.options.encoding_aes_key"),
        ({"appid": "wx1234", "default_cover": "/nonexistent.jpg"}, "channels.wechat.options.default_cover"),
    ],
)
def test_bad_options_stop_start_up_with_the_key(options: dict[str, Any], key: str) -> None:
    from channels.wechat.options import parse_options
    from pipeline.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        parse_options("wechat", options)
    assert caught.value.key == key


@pytest.mark.parametrize(
    ("options", "env", "key"),
    [
        ({"token_env": "GOVPUB_TEST_CB_TOKEN"}, {}, "channels.wechat.options.token_env"),
        (
            {"token_env": "GOVPUB_TEST_CB_TOKEN", "encoding_aes_key_env": "GOVPUB_TEST_AES"},
            {"GOVPUB_TEST_CB_TOKEN": "t", "GOVPUB_TEST_AES": "short"},
            "channels.wechat.options.encoding_aes_key_env",
        ),
    ],
)
def test_a_missing_or_malformed_callback_secret_stops_start_up(
    options: dict[str, Any], env: dict[str, str], key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from channels.wechat.options import check_options
    from pipeline.errors import ConfigError

    monkeypatch.delenv("GOVPUB_TEST_CB_TOKEN", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        check_options("wechat", {"appid": "wx1234", **options})
    assert caught.value.key == key
    assert "short" not in str(caught.value)  # a secret is never shown


def test_callback_secrets_come_from_files(tmp_path: Path) -> None:
    from channels.wechat.options import check_options, parse_options

    (tmp_path / "token").write_text("from-a-file\n")
    (tmp_path / "aes").write_text("k" * 43)
    raw = {
        "appid": "wx1234",
        "token_file": str(tmp_path / "token"),
        "encoding_aes_key_file": str(tmp_path / "aes"),
    }
    check_options("wechat", raw)
    options = parse_options("wechat", raw)
    assert (options.callback_token(), options.callback_aes_key()) == ("from-a-file", "k" * 43)


def test_an_article_of_a_superseded_revision_is_deleted_once_the_new_one_is_live(
    build_driver: Any, sandbox: SandboxServer, wechat_redis: str
) -> None:
    driver = build_driver(wechat_channels(sandbox, wechat_redis, poll_seconds=30))
    control(sandbox, "config", publish_delay=0.5)  # still publishing when the first attempt ends
    driver.submit(1)

    def awaiting() -> bool:
        driver.advance(3)
        driver.run_due()
        row = driver.deliveries()[0]
        return row["state"] == "waiting" and bool((row["progress"] or {}).get("publish_id"))

    wait_until(awaiting, what="revision 1 submitted")
    wait_until(lambda: record(sandbox)["published"], what="revision 1 published at WeChat")
    driver.submit(1, revision=2, summary="更正")  # supersedes revision 1 while its result is awaited

    def settled() -> list[dict[str, Any]] | None:
        driver.advance(60)
        driver.run_due()
        rows = driver.deliveries()
        return rows if [r["state"] for r in rows] == ["skipped", "delivered"] else None

    _, second = wait_until(settled, what="revision 2")
    seen = record(sandbox)
    orphan = seen["published"][0]["article_id"]
    assert seen["deleted"] == [{"article_id": orphan, "index": 1, "all": False}]
    assert orphan in second["external_ref"]["removed_orphans"][0]["deleted"]


def test_a_body_too_long_for_wechat_is_abridged_to_the_summary_and_the_website(
    driver: Driver, sandbox: SandboxServer
) -> None:
    driver.submit(1, body_html="<p>" + "规" * 21_000 + "</p>", summary="本规划的摘要。")
    [row] = settle(driver)
    assert row["state"] == "delivered"
    content = record(sandbox)["drafts"][0]["received"][0]["content"]
    assert len(content) < 20_000 and "本规划的摘要。" in content and "阅读原文" in content
    assert "abridged" in row["external_ref"]["notes"][0]
