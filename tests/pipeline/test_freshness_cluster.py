"""Issue 19's done-when "an account without publication for 13 days raises the
warning", through the running system: ``govpub serve``, a Celery worker and ``govpub
beat`` on PostgreSQL and Redis, the WeChat channel against its sandbox. The account's
last publication is set 13 days back in the database; beat's next look warns, in the
console's overview, on ``/metrics``, to a loopback webhook and to an aiosmtpd loopback
server, each once; 15 days back is overdue, a new warning, sent once more."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI, Request
from sqlalchemy import func, select, update

from pipeline import db
from pipeline.localcluster import DEMO_AGENCY, free_port
from tests.helpers import LiveServer, wait_until
from tests.pipeline.console_support import add_user, login
from tests.wechat_cluster import WeChatCluster


class Inbox:
    """aiosmtpd's handler: every message it is given."""

    def __init__(self) -> None:
        self.messages: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.messages.append(envelope)
        return "250 OK"


@contextmanager
def receivers() -> Iterator[tuple[str, list[dict[str, Any]], int, Inbox]]:
    """A webhook receiver (its URL and what it got) and an SMTP server (port, inbox)."""
    posted: list[dict[str, Any]] = []
    hook = FastAPI()

    @hook.post("/hook")
    async def receive(request: Request) -> dict[str, str]:
        posted.append(await request.json())
        return {"ok": "yes"}

    inbox, port = Inbox(), free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        with LiveServer(hook) as server:
            yield f"{server.url}/hook", posted, port, inbox
    finally:
        smtp.stop()


def back(gp: WeChatCluster, days: float) -> None:
    """The account's publications, ``days`` earlier than they happened (the data set back)."""
    d = db.deliveries
    earlier = gp.cluster.services.clock() - timedelta(days=days)
    with gp.cluster.services.engine.begin() as conn:
        published = (d.c.channel == gp.wechat) & d.c.delivered_at.is_not(None)
        conn.execute(update(d).where(published).values(delivered_at=earlier))


def looks(gp: WeChatCluster, after: Any) -> bool:
    """Beat has recorded the account again since ``after``."""
    f = db.freshness
    with gp.cluster.services.engine.connect() as conn:
        checked = conn.execute(select(func.min(f.c.checked_at))).scalar()
    return checked is not None and checked > after


def test_an_account_silent_for_13_days_raises_the_warning(
    tmp_path: Path, pg_url: str, redis_url: str
) -> None:
    with receivers() as (hook_url, posted, smtp_port, inbox):
        freshness = {
            "check_seconds": 0.3,
            "webhook": hook_url,
            "email_to": ["gongkai@example.gov.cn"],
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_port,
        }
        with WeChatCluster(
            tmp_path, pg_url, redis_url, allow=["127.0.0.1"], settings={"freshness": freshness}
        ) as gp:
            gp.submit(1)
            assert gp.finished(1)["state"] == "delivered"
            subject = f"account:{gp.wechat}:"
            delivered = gp.cluster.services.clock()
            wait_until(lambda: looks(gp, delivered), 60, "beat looks again")
            assert posted == [] and inbox.messages == []  # published just now: nothing to say

            back(gp, 13)
            wait_until(lambda: posted and inbox.messages, 60, f"the warning\n{gp.cluster.logs()}")
            [warning] = posted[0]["warnings"]
            assert warning["subject"] == subject and warning["state"] == "warn"
            assert warning["agency"] == DEMO_AGENCY and 12.9 < warning["days_since"] < 13.1
            assert warning["limit_days"] == 14
            mail = inbox.messages[0]
            assert mail.rcpt_tos == ["gongkai@example.gov.cn"]
            message = message_from_bytes(bytes(mail.content or b""), policy=default)
            assert "1 项即将超期或已超期" in str(message["subject"])
            body = message.get_body()
            assert body is not None and "已 13.0 天未更新（期限 14 天" in body.get_content()

            metrics = httpx.get(f"{gp.url}/metrics", timeout=30).text
            assert f'govpub_freshness_warnings{{agency="{DEMO_AGENCY}",state="warn"}} 1.0' in metrics
            labels = f'agency="{DEMO_AGENCY}",kind="account",subject="{subject}"'
            seconds = re.search(rf"govpub_freshness_seconds{{{labels}}} (\S+)", metrics)
            assert seconds and 12.9 * 86400 < float(seconds[1]) < 13.1 * 86400

            add_user(gp.cluster.services, "ops", "operator")
            with httpx.Client(base_url=gp.url, trust_env=False, timeout=30) as console:
                login(console, "ops")  # type: ignore[arg-type]
                page = console.get("/console/").text
            tag = f'<tr data-subject="{subject}" data-state="warn">'
            row = re.search(re.escape(tag) + "(.*?)</tr>", page, re.S)
            assert row and "即将超期" in row[1] and "14 天" in row[1], page[:3000]

            # sent once: more looks say nothing new
            seen = gp.cluster.services.clock()
            wait_until(lambda: looks(gp, seen), 60, "two more looks")
            seen = gp.cluster.services.clock()
            wait_until(lambda: looks(gp, seen), 60, "two more looks")
            assert len(posted) == 1 and len(inbox.messages) == 1

            back(gp, 15)  # past the limit: a new warning, overdue
            wait_until(lambda: len(posted) == 2 and len(inbox.messages) == 2, 60, "the overdue warning")
            assert [w["state"] for w in posted[1]["warnings"]] == ["overdue"]
