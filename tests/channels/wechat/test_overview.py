"""What a WeChat channel tells the operations overview: the next broadcast window
follows the quota of the period (its own tests cover the quota's numbers)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from channels.wechat.overview import quota_facts

NOW = datetime(2018, 1, 1, 2, 0, tzinfo=UTC)  # 10:00 on Monday 1 January 2018 in Shanghai


def quota(remaining: int, account_type: str) -> dict[str, object]:
    return {
        "mode": "broadcast",
        "account_type": account_type,
        "period": "2018-01-01",
        "limit": 1,
        "used": 1 - remaining,
        "remaining": remaining,
        "broadcast_time": "18:00",
    }


@pytest.mark.parametrize(
    ("remaining", "account_type", "window"),
    [
        (1, "subscription", "2018-01-01 18:00"),
        (0, "subscription", "2018-01-02 18:00"),
        (0, "service", "2018-02-01 18:00"),
    ],
)
def test_the_next_broadcast_window_follows_the_quota(remaining: int, account_type: str, window: str) -> None:
    facts = quota_facts(quota(remaining, account_type), NOW, "Asia/Shanghai")
    assert facts["下次群发窗口"] == window
    assert facts["群发额度"] == f"2018-01-01：已用 {1 - remaining} / 1，剩余 {remaining}"
    assert facts["发送方式"] == "群发（推送给关注者）"
