"""The e-mail channel against the mail sandbox (a real SMTP server on loopback):
newsroom and subscriber messages, STARTTLS / SMTPS / AUTH, Message-IDs stable across
retries, refusals (5xx: a bounce), deferrals (4xx: retried for them only), a relay that
crawls, retraction notices, the daily digest, and a subscriber's export and erasure."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from channels.email.channel import EmailChannel
from channels.email.sandbox import MailSandbox
from channels.email.subscribers import Subscribers, export
from channels.testing import accept_item
from pipeline.channel import BatchEntry, DeliveryContext
from pipeline.errors import ConfigError, NotDue, PermanentError, TransientError
from pipeline.model import Published
from pipeline.services import Services
from tests.channels.email.support import DESK, SENDER, messages
from tests.helpers import ensure_agency

Mail = Callable[..., tuple[Services, EmailChannel]]
ids = count(1)


def ctx(
    services: Services, delivery_id: int | None = None, saved: dict[int, Any] | None = None
) -> DeliveryContext:
    delivery_id = delivery_id or next(ids)
    store = saved if saved is not None else {}
    return DeliveryContext(
        delivery_id=delivery_id,
        attempt=1,
        channel="mail",
        now=services.clock(),
        progress=dict(store.get(delivery_id, {})),
        checkpoint_to=lambda p: store.__setitem__(delivery_id, dict(p)),
    )


def item(services: Services, n: int, **changes: Any) -> Published:
    return accept_item(services, n, wanted={"mail": True}, **changes)


def confirmed(channel: EmailChannel, address: str, scope: str = "all", mode: str = "item") -> None:
    sub = channel.subscribers.subscribe(address, scope, mode, channel.env.clock())
    channel.subscribers.confirm(sub.id, channel.env.clock())


def test_a_newsroom_gets_the_whole_item_over_starttls_with_auth(mail: Mail, relay: MailSandbox) -> None:
    services, channel = mail()
    one = item(services, 1, body_html="<p>全文第一段</p><script>alert(1)</script>")
    context = ctx(services)
    ref = channel.publish(one, context)

    [got] = messages(relay, DESK)
    assert got["tls"] and got["authenticated"]
    assert got["mail_from"] == SENDER and got["subject"] == one.title
    assert got["message_id"].startswith(f"<d{context.delivery_id}.") and got["message_id"].endswith(
        "@zhangdian.example.gov.cn>"
    )
    assert "全文第一段" in got["text"] and one.index_no in got["text"] and "alert" not in str(got)
    assert "List-Unsubscribe" not in got["headers"]  # a newsroom is configured, not subscribed
    assert ref["sent"] == 1 and ref["refused"] == 0


@pytest.mark.parametrize("security", ["ssl", "none"])
def test_smtps_and_plain_loopback(tmp_path: Path, security: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from channels.email.sandbox import start
    from channels.testing import installation
    from tests.channels.email.support import options, secrets_in_env

    secrets_in_env(monkeypatch)
    server = start(tmp_path / "relay", security=security)
    try:
        opts = options(server, security=security, digest=False)
        with installation(tmp_path, {"mail": {"kind": "email", "options": opts}}) as services:
            channel = services.channel("mail")
            channel.publish(item(services, 1), ctx(services))
            assert channel.health().ok
        [got] = server.box.snapshot()
        assert got["tls"] is (security == "ssl") and got["authenticated"]
    finally:
        server.stop()


def test_a_wrong_password_is_permanent_and_names_the_credentials(
    mail: Mail, relay: MailSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    services, channel = mail()
    monkeypatch.setenv("GOVPUB_EMAIL_SMTP_PASSWORD", "wrong")
    with pytest.raises(PermanentError, match=r"535.*credentials"):
        channel.publish(item(services, 1), ctx(services))
    assert not channel.health().ok
    assert relay.box.snapshot() == []


def test_a_second_attempt_of_a_delivery_sends_nothing_again(mail: Mail, relay: MailSandbox) -> None:
    services, channel = mail()
    confirmed(channel, "reader@example.cn")
    one = item(services, 1)
    first = channel.publish(one, context := ctx(services))
    again = channel.publish(one, ctx(services, context.delivery_id))
    assert again == first and first["sent"] == 2
    assert len(relay.box.snapshot()) == 2


def test_a_deferred_recipient_is_retried_alone_with_the_same_message_id(
    mail: Mail, relay: MailSandbox
) -> None:
    services, channel = mail(newsrooms=[DESK, "busy-desk@paper.example.cn"])
    one = item(services, 1)
    context = ctx(services)
    with pytest.raises(TransientError, match="451"):
        channel.publish(one, context)
    assert [m["to"] for m in relay.box.snapshot()] == [[DESK]]

    channel.opts = channel.opts.model_copy(update={"newsrooms": [DESK, "desk2@paper.example.cn"]})
    relay.control(defer=1)  # the relay defers the next recipient once more
    with pytest.raises(TransientError):
        channel.publish(one, ctx(services, context.delivery_id))
    ref = channel.publish(one, ctx(services, context.delivery_id))
    assert [m["to"] for m in relay.box.snapshot()] == [[DESK], ["desk2@paper.example.cn"]]
    assert ref["sent"] == 2


def test_a_refused_subscriber_is_a_bounce_and_gets_nothing_more(mail: Mail, relay: MailSandbox) -> None:
    services, channel = mail()
    confirmed(channel, "nobody@example.cn")
    confirmed(channel, "reader@example.cn")
    ref = channel.publish(item(services, 1), ctx(services))
    assert ref == {**ref, "sent": 2, "refused": 1}
    [row] = [r for r in export(services.engine, "nobody@example.cn") if "state" in r]
    assert row["state"] == "bounced" and row["bounced_at"]
    channel.publish(item(services, 2), ctx(services))
    assert sorted(m["to"][0] for m in relay.box.snapshot()) == [
        DESK,
        DESK,
        "reader@example.cn",
        "reader@example.cn",
    ]


def test_a_relay_refusing_everything_after_data_is_permanent_per_recipient(
    mail: Mail, relay: MailSandbox
) -> None:
    services, channel = mail()
    relay.control(refuse=1)
    ref = channel.publish(item(services, 1), ctx(services))
    assert ref["refused"] == 1 and ref["sent"] == 0 and relay.box.snapshot() == []


def test_a_crawling_relay_times_out_and_the_retry_keeps_the_message_id(
    mail: Mail, relay: MailSandbox
) -> None:
    services, channel = mail(timeout_seconds=0.5)
    relay.control(crawl=1, crawl_seconds=1.5)
    one = item(services, 1)
    context = ctx(services)
    with pytest.raises(TransientError, match=r"unreachable|closed|timed out"):
        channel.publish(one, context)
    channel.publish(one, ctx(services, context.delivery_id))
    got = messages(relay, DESK)
    assert got and len({m["message_id"] for m in got}) == 1  # the slow one may also have landed: same id


def test_subscribers_get_their_scope_with_one_click_unsubscribe(mail: Mail, relay: MailSandbox) -> None:
    services, channel = mail(newsrooms=[])
    one = item(services, 1)
    confirmed(channel, "all@example.cn")
    confirmed(channel, "agency@example.cn", f"agency:{one.agency.code}")
    confirmed(channel, "other@example.cn", "agency:999999999999")
    confirmed(channel, "topic@example.cn", f"category:{one.category}")
    channel.subscribers.subscribe("pending@example.cn", "all", "item", services.clock())  # never confirmed
    channel.publish(one, ctx(services))

    got = {m["to"][0]: m for m in relay.box.snapshot()}
    assert set(got) == {"all@example.cn", "agency@example.cn", "topic@example.cn"}
    headers = got["all@example.cn"]["headers"]
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert (
        headers["List-Unsubscribe"].startswith("<http")
        and "/subscribe/mail/unsubscribe?s=" in headers["List-Unsubscribe"]
    )
    assert "退订" in got["all@example.cn"]["text"]


def test_a_retraction_notice_answers_the_original_message(mail: Mail, relay: MailSandbox) -> None:
    services, channel = mail()
    one = item(services, 1)
    ref = channel.publish(one, ctx(services))
    services.store.retract(one.source, one.id, "内容有误")
    answer = channel.retract(one, ref, "内容有误", ctx(services))
    first, notice = messages(relay, DESK)
    assert notice["subject"] == f"【撤回】{one.title}" and "内容有误" in notice["text"]
    assert notice["headers"]["In-Reply-To"] == first["message_id"]
    assert answer is not None and answer["withdrawn"] == ref["delivery"]
    assert channel.retract(one, None, "内容有误", ctx(services)) is None


def test_the_daily_digest_waits_for_its_window_and_goes_once(mail: Mail, relay: MailSandbox) -> None:
    services, channel = mail(newsrooms=[DESK], digest=True)
    assert channel.batched
    confirmed(channel, "daily@example.cn", mode="digest")
    confirmed(channel, "each@example.cn")
    saved: dict[int, Any] = {}
    items = [item(services, n) for n in (1, 2)]
    entries = [BatchEntry(item=i, ctx=ctx(services, saved=saved)) for i in items]

    answers = channel.publish_batch(entries)
    assert all(isinstance(a, NotDue) and a.retry_at for a in answers.values())
    assert sorted(m["to"][0] for m in relay.box.snapshot()) == [
        DESK,
        DESK,
        "each@example.cn",
        "each@example.cn",
    ]

    for delivery_id in saved:  # the window has come
        saved[delivery_id]["digest_at"] = (services.clock() - timedelta(minutes=1)).isoformat()
    again = [BatchEntry(item=e.item, ctx=ctx(services, e.ctx.delivery_id, saved)) for e in entries]
    answers = channel.publish_batch(again)
    assert all(isinstance(a, dict) and a["digest"] for a in answers.values()), answers
    [digest] = messages(relay, "daily@example.cn")
    assert all(i.title in digest["text"] for i in items) and "（2 条）" in digest["subject"]
    assert digest["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert len(relay.box.snapshot()) == 5  # newsroom and per-item messages not sent again

    channel.publish_batch(
        [BatchEntry(item=e.item, ctx=ctx(services, e.ctx.delivery_id, saved)) for e in entries]
    )
    assert len(messages(relay, "daily@example.cn")) == 1


def test_without_digest_subscribers_a_batched_instance_delivers_at_once(
    mail: Mail, relay: MailSandbox
) -> None:
    services, channel = mail(digest=True)
    [answer] = channel.publish_batch([BatchEntry(item=item(services, 1), ctx=ctx(services))]).values()
    assert isinstance(answer, dict) and answer["sent"] == 1 and "digest" not in answer


def test_options_are_checked_naming_the_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    base = {
        "sender": SENDER,
        "newsrooms": [DESK],
        "username": "u",
        "password_env": "GOVPUB_EMAIL_SMTP_PASSWORD",
    }
    monkeypatch.setenv("GOVPUB_EMAIL_SMTP_PASSWORD", "x")
    monkeypatch.setenv("GOVPUB_EMAIL_SIGNING_KEY", "k")
    EmailChannel.check_options("mail", base)
    cases = {
        "password": {**base, "password": "literal"},
        "password_env": {**base, "password_env": None},
        "newsrooms": {**base, "newsrooms": ["not an address"]},
        "digest_time": {**base, "digest_time": "8am"},
        "signing_key_env": {**base, "signing_key_env": "GOVPUB_NO_SUCH_KEY_VAR"},
        "tls_ca_file": {**base, "tls_ca_file": str(tmp_path / "missing.pem")},
        "security": {**base, "smtp_host": "smtp.example.cn", "security": "none"},
    }
    for key, raw in cases.items():
        with pytest.raises(ConfigError) as refused:
            EmailChannel.check_options("mail", raw)
        assert refused.value.key.startswith(f"channels.mail.options.{key}"), (key, refused.value.key)


def test_export_and_erase_an_address(mail: Mail, relay: MailSandbox, tmp_path: Path) -> None:
    from pipeline.cli.main import main

    services, channel = mail()
    confirmed(channel, "Reader@Example.cn", "all", "item")
    channel.publish(item(services, 1), ctx(services))
    env = {"GOVPUB_DATABASE_URL": str(services.engine.url)}
    runner = CliRunner()
    out = runner.invoke(main, ["email", "subscribers", "export", "reader@example.cn"], env=env)
    assert out.exit_code == 0, out.output
    assert '"scope": "all"' in out.output and '"message": "item"' in out.output
    out = runner.invoke(main, ["email", "subscribers", "erase", "reader@example.cn", "--yes"], env=env)
    assert out.exit_code == 0 and "1 subscription(s), 1 logged message(s)" in out.output, out.output
    assert export(services.engine, "reader@example.cn") == []
    assert Subscribers(services.engine, "mail").confirmed("item") == []


def test_a_bounce_report_stops_a_subscriber(mail: Mail, tmp_path: Path) -> None:
    from pipeline.cli.main import main

    services, channel = mail()
    confirmed(channel, "gone@example.cn")
    confirmed(channel, "full@example.cn")
    report = tmp_path / "bounce.eml"
    report.write_text(
        "From: MAILER-DAEMON@relay.example.cn\nTo: gongkai@zhangdian.example.gov.cn\nSubject: failure\n"
        'MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
        "--b\nContent-Type: text/plain\n\nundeliverable\n\n"
        "--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; relay.example.cn\n\n"
        "Final-Recipient: rfc822; gone@example.cn\nAction: failed\nStatus: 5.1.1\n\n"
        "Final-Recipient: rfc822; full@example.cn\nAction: delayed\nStatus: 4.2.2\n\n--b--\n"
    )
    env = {"GOVPUB_DATABASE_URL": str(services.engine.url)}
    out = CliRunner().invoke(main, ["email", "bounce", str(report)], env=env)
    assert out.exit_code == 0, out.output
    assert (
        "gone@example.cn: 5.1.1 permanent" in out.output and "full@example.cn: 4.2.2 transient" in out.output
    )
    assert [s.address for s in channel.subscribers.confirmed("item")] == ["full@example.cn"]


def test_an_agency_overlay_sends_to_its_own_newsroom(
    tmp_path: Path, relay: MailSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:

    from channels.testing import installation
    from pipeline import agencies
    from pipeline.config import AgencyConfig
    from tests.channels.email.support import options, secrets_in_env

    secrets_in_env(monkeypatch)
    a, b = "113703030000000000", "113703030000000099"
    declared = {b: AgencyConfig(channels={"mail": {"newsrooms": ["health@paper.example.cn"]}})}
    channels = {"mail": {"kind": "email", "options": options(relay, digest=False)}}
    with installation(tmp_path, channels, agencies=declared) as services:
        ensure_agency(services.engine, agencies.Agency(a, "张店区教育局", path="jyj"))
        ensure_agency(services.engine, agencies.Agency(b, "张店区卫健局", path="wjj"))
        channel = services.channel("mail")
        channel.publish(accept_item(services, 1, agency={"code": a, "name": "张店区教育局"}), ctx(services))
        channel.publish(accept_item(services, 2, agency={"code": b, "name": "张店区卫健局"}), ctx(services))
    got = [(m["to"][0], m["subject"]) for m in relay.box.snapshot()]
    assert got == [(DESK, "测试公开信息 1"), ("health@paper.example.cn", "测试公开信息 2")]


def test_the_overview_counts_subscribers_by_mode_and_state(mail: Mail) -> None:
    from pipeline.channel import HasOverviewFacts

    services, channel = mail()
    confirmed(channel, "a@example.cn")
    confirmed(channel, "b@example.cn", mode="digest")
    channel.subscribers.subscribe("c@example.cn", "all", "item", services.clock())
    channel.subscribers.bounced("a@example.cn", services.clock())
    assert isinstance(channel, HasOverviewFacts)
    facts = channel.overview_facts()
    assert facts["订阅者"] == "逐条 0，每日摘要 1；待确认 1，退信停发 1"
    assert facts["新闻单位邮箱"] == "1 个" and facts["下次摘要"].endswith("08:00")
