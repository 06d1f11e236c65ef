"""What a WeChat channel adds to the operations overview: how it sends, the mass-send
quota of the period and the next broadcast window."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo


def quota_facts(quota: dict[str, Any], now: datetime, timezone: str) -> dict[str, str]:
    """The channel's ``quota()`` in words, with the next broadcast window: today at
    ``broadcast_time`` while the period has quota, else the start of the next period
    (tomorrow for a subscription account, the 1st of next month for a service account)."""
    mode = {"broadcast": "群发（推送给关注者）", "publish": "发布（不推送）"}.get(str(quota.get("mode")), "")
    facts = {"发送方式": mode} if mode else {}
    if "limit" in quota:
        facts["群发额度"] = (
            f"{quota.get('period', '本期')}：已用 {quota.get('used', 0)} / {quota['limit']}，"
            f"剩余 {quota.get('remaining', 0)}"
        )
    hour, _, minute = str(quota.get("broadcast_time") or "").partition(":")
    if hour.isdigit() and minute.isdigit():
        local = now.astimezone(ZoneInfo(timezone))
        today = local.replace(hour=int(hour), minute=int(minute), second=0, microsecond=0)
        if int(str(quota.get("remaining", 1))) > 0:
            facts["下次群发窗口"] = today.strftime("%Y-%m-%d %H:%M") if local < today else "今日窗口已开放"
        elif quota.get("account_type") == "subscription":
            facts["下次群发窗口"] = (today + timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
        else:
            first = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
            facts["下次群发窗口"] = first.strftime("%Y-%m-%d %H:%M")
    return facts
