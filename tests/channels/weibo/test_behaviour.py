"""The Weibo channel against its sandbox, in-process: the post's text and picture,
Weibo's limits and error codes, duplicates and lost answers, token expiry and renewal,
retraction, per-agency accounts."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest

from channels.testing import ContractSetup
from channels.weibo.compose import LIMIT, weibo_length
from channels.weibo.sandbox import SandboxServer
from pipeline.errors import PermanentError, RateLimited, TransientError
from pipeline.urls import item_url
from tests.channels.weibo.support import TOKEN_ENV, control, live_with, record

Build = Callable[..., ContractSetup]
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def link(setup: ContractSetup, item: Any) -> str:
    return item_url(setup.services.settings, item, agencies=setup.services.registry)


def shares(sandbox: SandboxServer) -> int:
    return sum(1 for c in record(sandbox)["calls"] if c["path"] == "statuses/share.json")


def test_a_post_is_title_summary_and_the_items_page(weibo_for: Build, sandbox: SandboxServer) -> None:
    setup = weibo_for()
    item = setup.item(1, summary="招生指标分配方案全文公开。")
    ref = setup.publish(item)
    [post] = live_with(sandbox, link(setup, item))
    assert post["text"] == f"【{item.title}】招生指标分配方案全文公开。 {link(setup, item)}"
    assert ref["post_id"] == post["id"] and ref["url"].endswith(f"/status/{post['id']}")


def test_a_summary_without_room_is_left_out_whole(weibo_for: Build, sandbox: SandboxServer) -> None:
    setup = weibo_for()
    item = setup.item(2, summary="很长的摘要。" * 40)
    setup.publish(item)
    [post] = live_with(sandbox, link(setup, item))
    assert post["text"] == f"【{item.title}】{link(setup, item)}"
    assert weibo_length(post["text"]) <= LIMIT


def test_a_title_too_long_is_a_permanent_error_naming_weibo_text(
    weibo_for: Build, sandbox: SandboxServer
) -> None:
    setup = weibo_for()
    item = setup.item(3, title="关于" + "某某事项" * 32 + "的通知")
    with pytest.raises(PermanentError, match="weibo_text") as refused:
        setup.channel.publish(item, setup.ctx())
    assert "140" in str(refused.value)
    assert shares(sandbox) == 0  # never sent cut
    shorter = setup.item(3, revision=2, title=item.title, weibo_text="关于某某事项的通知（全文见链接）")
    setup.publish(shorter)
    [post] = live_with(sandbox, link(setup, shorter))
    assert post["text"] == f"关于某某事项的通知（全文见链接） {link(setup, shorter)}"


def test_weibo_text_too_long_names_it(weibo_for: Build, sandbox: SandboxServer) -> None:
    setup = weibo_for()
    with pytest.raises(PermanentError, match="shorten the item's weibo_text") as refused:
        setup.channel.publish(setup.item(4, weibo_text="长" * 130), setup.ctx())
    assert "140" in str(refused.value) and shares(sandbox) == 0
    item = setup.item(5, weibo_text="长" * 60)
    setup.publish(item)
    [post] = live_with(sandbox, link(setup, item))
    assert post["text"] == "长" * 60 + " " + link(setup, item)


def test_the_cover_goes_as_the_posts_picture(weibo_for: Build, sandbox: SandboxServer) -> None:
    setup = weibo_for()
    cover = {"name": "cover.png", "media_type": "image/png", "content_base64": base64.b64encode(PNG).decode()}
    item = setup.item(8, cover_image=cover)
    setup.publish(item)
    [post] = live_with(sandbox, link(setup, item))
    assert post["picture"] == {"type": "image/png", "size": len(PNG), "sha256": item.cover_image.sha256}  # type: ignore[union-attr]


def test_a_lost_answer_is_found_on_the_timeline_not_posted_twice(
    weibo_for: Build, sandbox: SandboxServer
) -> None:
    setup = weibo_for()
    item = setup.item(9)
    control(sandbox, faults=[{"path": "statuses/share.json", "lose_answer": True, "times": 1}])
    ctx = setup.ctx()
    with pytest.raises(TransientError):
        setup.channel.publish(item, ctx)
    again = setup.channel.publish(item, setup.ctx(ctx.delivery_id, attempt=2))
    assert again["adopted"] is True
    assert shares(sandbox) == 1  # looked up, not shared again
    assert [p["id"] for p in live_with(sandbox, link(setup, item))] == [again["post_id"]]


def test_repeat_content_20019_adopts_the_post_already_there(weibo_for: Build, sandbox: SandboxServer) -> None:
    setup = weibo_for()
    item = setup.item(10)
    first = setup.publish(item)
    second = setup.publish(item)  # another delivery of the same text: Weibo answers 20019
    assert second["post_id"] == first["post_id"] and second["adopted"] is True
    assert len(live_with(sandbox, link(setup, item))) == 1


def test_repeat_content_not_on_the_timeline_is_permanent(weibo_for: Build, sandbox: SandboxServer) -> None:
    setup = weibo_for()
    control(sandbox, faults=[{"path": "statuses/share.json", "error_code": 20019}])
    with pytest.raises(PermanentError, match=r"20019.*weibo_text"):
        setup.channel.publish(setup.item(11), setup.ctx())


@pytest.mark.parametrize("code", [10022, 10023, 10024, 20016])
def test_frequency_limits_are_rate_limited(weibo_for: Build, sandbox: SandboxServer, code: int) -> None:
    setup = weibo_for()
    control(sandbox, faults=[{"path": "statuses/share.json", "error_code": code}])
    with pytest.raises(RateLimited, match=str(code)):
        setup.channel.publish(setup.item(12), setup.ctx())
    assert setup.publish(setup.item(12))["post_id"]  # the next attempt goes through


def test_the_accounts_hourly_quota(weibo_for: Build, sandbox: SandboxServer) -> None:
    control(sandbox, hourly_limit=2)
    setup = weibo_for(hourly_limit=30)
    setup.publish(setup.item(13))
    setup.publish(setup.item(14))
    with pytest.raises(RateLimited, match="10023"):  # Weibo's own count (HTTP 403)
        setup.channel.publish(setup.item(15), setup.ctx())
    control(sandbox, hourly_limit=10)
    paced = weibo_for(hourly_limit=2)  # kept here too: no call once the hour's posts are made
    paced.publish(paced.item(16))
    paced.publish(paced.item(17))
    before = shares(sandbox)
    with pytest.raises(RateLimited, match="hourly_limit") as waiting:
        paced.channel.publish(paced.item(18), paced.ctx())
    assert waiting.value.retry_at is not None and shares(sandbox) == before
    assert paced.channel.quota()["remaining"] == 0  # type: ignore[attr-defined]


@pytest.mark.parametrize(("code", "words"), [(20021, "Content is illegal"), (20003, "does not exist")])
def test_content_refused_is_permanent_with_the_reason(
    weibo_for: Build, sandbox: SandboxServer, code: int, words: str
) -> None:
    setup = weibo_for()
    control(sandbox, faults=[{"path": "statuses/share.json", "error_code": code, "message": words}])
    with pytest.raises(PermanentError, match=str(code)):
        setup.channel.publish(setup.item(19), setup.ctx())


def test_a_link_outside_the_safe_domain(weibo_for: Build, sandbox: SandboxServer) -> None:
    setup = weibo_for(safe_domain="gov.example.cn")
    with pytest.raises(PermanentError, match="safe_domain"):
        setup.channel.publish(setup.item(20), setup.ctx())
    assert shares(sandbox) == 0
    believes = weibo_for(safe_domain="127.0.0.1")
    control(sandbox, safe_domain="zibo.gov.cn")  # the app registered another domain
    with pytest.raises(PermanentError, match=r"10017.*safe_domain"):
        believes.channel.publish(believes.item(21), believes.ctx())


def test_an_expired_token_is_renewed_with_the_refresh_token(
    weibo_for: Build, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    granted = control(sandbox, authorize=sandbox.weibo.config.uid)  # an authorisation with a refresh token
    monkeypatch.setenv(TOKEN_ENV, granted["access_token"])
    monkeypatch.setenv("GOVPUB_WEIBO_REFRESH_TOKEN", granted["refresh_token"])
    setup = weibo_for(refresh_token_env="GOVPUB_WEIBO_REFRESH_TOKEN", renew_before_seconds=0)
    setup.publish(setup.item(22))
    control(sandbox, expire=True)
    setup.publish(setup.item(23))  # 21327 on share: renewed, and the post made
    control(sandbox, expire=True)
    setup.publish(setup.item(24))  # again: the rotated refresh token was kept
    grants = record(sandbox)["grants"]
    assert [g["grant_type"] for g in grants] == ["refresh_token", "refresh_token"]
    assert len(record(sandbox)["live"]) == 3


def test_a_token_about_to_expire_is_renewed_ahead(
    weibo_for: Build, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    control(sandbox, token_seconds=3600)
    granted = control(sandbox, authorize=sandbox.weibo.config.uid)
    monkeypatch.setenv(TOKEN_ENV, granted["access_token"])
    monkeypatch.setenv("GOVPUB_WEIBO_REFRESH_TOKEN", granted["refresh_token"])
    setup = weibo_for(refresh_token_env="GOVPUB_WEIBO_REFRESH_TOKEN")  # renews a day ahead
    setup.publish(setup.item(25))
    calls = record(sandbox)["calls"]
    assert [g["grant_type"] for g in record(sandbox)["grants"]] == ["refresh_token"]
    assert calls[-1]["token"] != granted["access_token"]


def test_an_expired_token_without_refresh_tells_how_to_reauthorise(
    weibo_for: Build, sandbox: SandboxServer
) -> None:
    setup = weibo_for()
    setup.publish(setup.item(26))
    control(sandbox, expire=True)
    with pytest.raises(PermanentError) as refused:
        setup.channel.publish(setup.item(27), setup.ctx())
    message = str(refused.value)
    assert "Re-authorise" in message and "/oauth2/authorize?client_id=" in message
    assert TOKEN_ENV in message and "21327" in message
    assert not setup.channel.health().ok


def test_an_operators_new_authorisation_is_used(
    weibo_for: Build, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = weibo_for()
    setup.publish(setup.item(28))
    control(sandbox, expire=True)
    monkeypatch.setenv(TOKEN_ENV, control(sandbox, authorize=sandbox.weibo.config.uid)["access_token"])
    assert setup.publish(setup.item(29))["post_id"]


def test_retraction_destroys_the_post_and_is_idempotent(weibo_for: Build, sandbox: SandboxServer) -> None:
    setup = weibo_for()
    item = setup.item(30)
    ref = setup.publish(item)
    setup.retracted(item, "内容有误")
    answer = setup.channel.retract(item, ref, "内容有误", setup.ctx())
    assert answer is not None and answer["deleted"] == [ref["post_id"]]
    assert sandbox.weibo.posts[ref["post_id"]]["deleted"]
    again = setup.channel.retract(item, ref, "内容有误", setup.ctx())  # 20101 from Weibo: done
    assert again is not None and live_with(sandbox, link(setup, item)) == []


def test_an_update_posts_the_revision_then_destroys_the_earlier_post(
    weibo_for: Build, sandbox: SandboxServer
) -> None:
    setup = weibo_for()
    item = setup.item(31)
    first = setup.publish(item)
    newer = setup.item(31, revision=2, title=item.title + "（修订）")
    second = setup.channel.update(newer, first, setup.ctx())
    assert second["post_id"] != first["post_id"] and second["revision"] == 2
    [live] = live_with(sandbox, link(setup, newer))
    assert live["id"] == second["post_id"] and "（修订）" in live["text"]


def test_an_agency_with_an_account_of_its_own(
    weibo_for: Build, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = control(sandbox, authorize="7002002002")  # the bureau's own Weibo account
    monkeypatch.setenv("GOVPUB_WEIBO_TOKEN_JYJ", own["access_token"])
    overlay = {"name": "张店区教育局", "channels": {"weibo": {"access_token_env": "GOVPUB_WEIBO_TOKEN_JYJ"}}}
    setup = weibo_for(agencies={"113703030000000000": overlay})
    ref = setup.publish(setup.item(32))
    other = setup.publish(setup.item(33, agency={"name": "张店区卫生健康局", "code": "11370303MB0000000X"}))
    assert ref["account"] == "113703030000000000" and "account" not in other
    assert sandbox.weibo.posts[ref["post_id"]]["uid"] == "7002002002"
    assert sandbox.weibo.posts[other["post_id"]]["uid"] == sandbox.weibo.config.uid


def test_the_overview_shows_the_hours_posts_and_the_token(weibo_for: Build, sandbox: SandboxServer) -> None:
    setup = weibo_for(hourly_limit=5)
    facts_before = setup.channel.overview_facts()  # type: ignore[attr-defined]
    assert facts_before["发帖额度"] == "最近一小时：已发 0 / 5，剩余 5" and "最近发帖" not in facts_before
    setup.publish(setup.item(40))
    facts = setup.channel.overview_facts()  # type: ignore[attr-defined]
    assert facts["发帖额度"] == "最近一小时：已发 1 / 5，剩余 4"
    assert "最近发帖" in facts and "授权有效期至" in facts
