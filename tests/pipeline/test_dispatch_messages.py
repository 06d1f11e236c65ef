"""What the intake puts on the queue: a channel's delivery ids several to a message, in
order, in chunks; one id per message where Celery's rate limit counts messages."""

from __future__ import annotations

from typing import Any

from pipeline.config import ChannelConfig
from pipeline.queue import IDS_PER_MESSAGE, CeleryDispatcher, create_celery, messages
from pipeline.services import build_services


def test_ids_go_several_to_a_message_per_channel_in_order() -> None:
    work = [(n, "site" if n % 2 else "feed") for n in range(1, 2 * IDS_PER_MESSAGE + 4)]
    sent = list(messages(work, lambda channel: IDS_PER_MESSAGE))
    assert [(channel, len(ids)) for channel, ids in sent] == [
        ("site", IDS_PER_MESSAGE),
        ("site", 2),
        ("feed", IDS_PER_MESSAGE),
        ("feed", 1),
    ]
    assert [i for _, ids in sent for i in ids] == [n for n, c in work if c == "site"] + [
        n for n, c in work if c == "feed"
    ]


def test_a_rate_limited_channel_gets_one_id_per_message(settings_for: Any) -> None:
    channels = {"slow": ChannelConfig(kind="memory", rate_limit="10/s"), "fast": ChannelConfig(kind="memory")}
    dispatcher = CeleryDispatcher(create_celery(build_services(settings_for(channels=channels))))
    work = [(1, "slow"), (2, "slow"), (3, "fast"), (4, "fast")]
    sent = list(messages(work, dispatcher._per_message))
    assert sent == [("slow", [1]), ("slow", [2]), ("fast", [3, 4])]
