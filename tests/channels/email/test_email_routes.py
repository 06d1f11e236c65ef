"""The subscription pages through the real app: the form lists the scopes, a
subscription is pending until its signed link (sent through the mail sandbox) is
opened, forged and expired links change nothing, and RFC 8058's one-click POST ends it
leaving no row behind."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlsplit

from fastapi.testclient import TestClient

from channels.email.channel import EmailChannel
from channels.email.sandbox import MailSandbox
from channels.email.subscribers import export
from pipeline.app import create_app
from pipeline.services import Services
from tests.channels.email.support import messages

Mail = Callable[..., tuple[Services, EmailChannel]]


def client(services: Services) -> TestClient:
    return TestClient(create_app(services.settings, services))  # type: ignore[arg-type]


def link(text: str, purpose: str) -> str:
    found = re.search(rf"(https?://\S+/subscribe/mail/{purpose}\?s=\d+&t=[\w-]+)", text)
    assert found, text
    parts = urlsplit(found.group(1))
    return f"{parts.path}?{parts.query}"


def test_subscribe_confirm_and_one_click_unsubscribe(mail: Mail, relay: MailSandbox) -> None:
    services, channel = mail(newsrooms=[])
    with client(services) as web:
        page = web.get("/subscribe/mail")
        assert page.status_code == 200 and 'name="address"' in page.text and "每日摘要" in page.text
        answer = web.post(
            "/subscribe/mail", data={"address": "Reader@Example.cn", "scope": "all", "mode": "item"}
        )
        assert answer.status_code == 200 and "确认邮件" in answer.text
        [request] = messages(relay, "reader@example.cn")
        assert request["subject"].startswith("请确认订阅") and "List-Unsubscribe" not in request["headers"]
        assert [r["state"] for r in export(services.engine, "reader@example.cn") if "state" in r] == [
            "pending"
        ]

        confirm = link(request["text"], "confirm")
        forged = re.sub(r"t=[\w-]+", "t=forged", confirm)
        assert web.get(forged).status_code == 404
        assert web.get(confirm).status_code == 200
        assert [s.address for s in channel.subscribers.confirmed("item")] == ["reader@example.cn"]

        from channels.testing import accept_item
        from tests.channels.email.test_email import ctx

        channel.publish(accept_item(services, 1, wanted={"mail": True}), ctx(services))
        news = messages(relay, "reader@example.cn")[-1]
        target = news["headers"]["List-Unsubscribe"].strip("<>")
        path = f"{urlsplit(target).path}?{urlsplit(target).query}"
        assert web.get(path).status_code == 200  # a page with a button: nothing changes on GET
        assert channel.subscribers.confirmed("item")
        done = web.post(
            path,
            content=b"List-Unsubscribe=One-Click",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert done.status_code == 200 and "已退订" in done.text
        assert channel.subscribers.confirmed("item") == []
        assert [r for r in export(services.engine, "reader@example.cn") if "state" in r] == []
        assert web.post(path).status_code == 200  # a second click: already gone, same answer


def test_a_confirmation_link_expires(mail: Mail, relay: MailSandbox) -> None:
    services, channel = mail()
    with client(services) as web:
        web.post("/subscribe/mail", data={"address": "late@example.cn", "scope": "all", "mode": "digest"})
        confirm = link(messages(relay, "late@example.cn")[0]["text"], "confirm")
        real = services.clock
        services.clock = lambda: real() + timedelta(hours=channel.opts.confirm_within_hours + 1)
        assert web.get(confirm).status_code == 410
        assert channel.subscribers.confirmed("digest") == []


def test_bad_input_is_refused_and_nothing_is_sent(mail: Mail, relay: MailSandbox) -> None:
    services, _ = mail(digest=False)
    with client(services) as web:
        assert web.post("/subscribe/mail", data={"address": "not-an-address"}).status_code == 422
        assert (
            web.post("/subscribe/mail", data={"address": "a@example.cn", "scope": "agency:nope"}).status_code
            == 422
        )
        digest = web.post("/subscribe/mail", data={"address": "a@example.cn", "mode": "digest"})
        assert digest.status_code == 422  # this instance offers no digest
        assert "每日摘要" not in web.get("/subscribe/mail").text
        assert web.get("/subscribe/nosuch").status_code == 404
    assert relay.box.snapshot() == []


def test_a_relay_that_defers_the_confirmation_says_try_later(mail: Mail, relay: MailSandbox) -> None:
    services, _ = mail()
    relay.control(defer=1)
    with client(services) as web:
        answer = web.post("/subscribe/mail", data={"address": "x@example.cn", "scope": "all", "mode": "item"})
    assert answer.status_code == 503 and relay.box.snapshot() == []
