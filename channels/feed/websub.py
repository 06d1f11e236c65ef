"""WebSub (W3C recommendation, formerly PubSubHubbub): tell the hub a feed changed.

The publisher's whole part is one form POST per topic, ``hub.mode=publish`` and
``hub.url=<feed URL>``; the hub fetches the feed and pushes it to its subscribers.
The hub's answer follows :mod:`channels.kit.http`: no answer, 429 or 5xx is retried
(the delivery regenerates nothing new and pings again: a ping is harmless to repeat);
another 4xx is a hub that refuses the ping, which an operator must look at.
"""

from __future__ import annotations

from datetime import datetime

import httpx

from channels.kit import http


def ping(client: httpx.Client, hub: str, topics: list[str], now: datetime) -> None:
    for topic in topics:
        data = {"hub.mode": "publish", "hub.url": topic}
        http.request(client, "POST", hub, what=f"WebSub hub {hub}", now=now, data=data)
