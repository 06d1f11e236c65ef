"""New freshness warnings to the configured webhook and e-mail addresses.

One message per look and destination, listing every warning not sent there yet; a
destination that fails is tried again at the next look (the warnings stay unsent for
it), one that succeeds never gets the same warning again (pipeline.freshness.record).
The webhook is an endpoint the operator configured: it goes through
:func:`pipeline.outbound.endpoint_client` (its host trusted, any redirect checked). The
e-mail goes out with ``smtplib`` (the core names no channel, so not the mail channel's).
"""

from __future__ import annotations

import smtplib
from datetime import datetime
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

from pipeline.config import FreshnessSettings
from pipeline.freshness.watch import DAY, Watched
from pipeline.outbound import Policy, endpoint_client

STATE_WORDS = {"warn": "即将超期", "overdue": "已超期", "empty": "无信息", "ok": "正常"}


def payload(warnings: list[Watched], names: dict[str, str], now: datetime) -> dict[str, Any]:
    """What the webhook receives: one entry per warning."""
    return {
        "event": "govpub.freshness",
        "generated_at": now.isoformat(),
        "warnings": [
            {
                "agency": w.agency,
                "agency_name": names.get(w.agency, w.agency),
                "subject": w.subject,
                "kind": w.kind,
                "label": w.label,
                "state": w.state(now),
                "last_published_at": w.last_at.isoformat() if w.last_at else None,
                "days_since": round((w.age_seconds(now) or 0) / DAY, 1),
                "limit_days": w.limit_days,
                "due_at": w.due_at.isoformat() if w.due_at else None,
            }
            for w in warnings
        ],
    }


def post_webhook(url: str, policy: Policy, body: dict[str, Any]) -> None:
    """POST the JSON; an answer of 400 or more, or no answer, raises."""
    timeout = policy.total_timeout
    with endpoint_client(url, policy, timeout=timeout, headers={"user-agent": "govpub"}) as client:
        client.post(url, json=body).raise_for_status()


def text(warnings: list[Watched], names: dict[str, str], now: datetime, tz: str) -> str:
    zone = ZoneInfo(tz)
    lines = ["以下栏目或政务新媒体账号即将超期或已超期未更新：", ""]
    for w in warnings:
        days = (w.age_seconds(now) or 0) / DAY
        due = w.due_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if w.due_at else "—"
        lines.append(
            f"- {names.get(w.agency, w.agency)} · {w.label}：{STATE_WORDS[w.state(now)]}，"
            f"已 {days:.1f} 天未更新（期限 {w.limit_days:g} 天，到期 {due}）"
        )
    lines += ["", "—— govpub（政务公开发布）"]
    return "\n".join(lines)


def send_email(settings: FreshnessSettings, subject: str, body: str) -> None:
    """One message to every ``email_to`` address; an SMTP error raises."""
    message = EmailMessage()
    message["From"], message["To"] = settings.email_from, ", ".join(settings.email_to)
    message["Subject"] = subject
    message.set_content(body)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            smtp.login(settings.smtp_user, password)
        smtp.send_message(message)
