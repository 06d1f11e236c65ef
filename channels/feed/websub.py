"""WebSub (W3C recommendation, formerly PubSubHubbub): tell the hub a feed changed.

The publisher's whole part is one form POST per topic, ``hub.mode=publish`` and
``hub.url=<feed URL>``; the hub fetches the feed and pushes it to its subscribers.
Any failure is transient: the delivery is retried, regenerates nothing new and pings
again (a ping is harmless to repeat).
"""

from __future__ import annotations

import httpx

from pipeline.errors import TransientError


def ping(client: httpx.Client, hub: str, topics: list[str]) -> None:
    for topic in topics:
        try:
            answer = client.post(hub, data={"hub.mode": "publish", "hub.url": topic})
        except httpx.HTTPError as exc:
            raise TransientError(f"WebSub hub {hub} unreachable: {exc}") from exc
        if not answer.is_success:
            raise TransientError(
                f"WebSub hub {hub} answered {answer.status_code} for {topic}: {answer.text[:200]}"
            )
