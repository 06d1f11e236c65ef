"""WeChat accounts and feeds on a platform of 200 agencies (issue 18 P5): what choosing an
account costs per delivery, building the channel with one account per agency for 60 % of
them, the console's account list and one account page's scope check, and the feed
channel's list of feeds, on bench.platform_data's agencies (SQLite, no network).

    python -m bench.platform_wechat [--agencies 200]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.bulk import template
from bench.platform_data import plan
from pipeline.agencies import Agency, add
from pipeline.channel import DeliveryContext
from pipeline.config import AgencyConfig, ChannelConfig, Settings
from pipeline.demo_run import demo_items
from pipeline.schema import upgrade
from pipeline.services import build_services
from pipeline.tenancy import Reach

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def timed(work: Callable[[], Any], rounds: int) -> float:
    """Median milliseconds of ``rounds`` runs."""
    spent = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        spent.append((time.perf_counter() - start) * 1000)
    return sorted(spent)[len(spent) // 2]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agencies", type=int, default=200)
    args = parser.parse_args()
    planned = plan(args.agencies, args.agencies)
    folder = Path(tempfile.mkdtemp(prefix="govpub-wechat-bench-"))
    overlays = {
        a.code: AgencyConfig(channels={"wechat": {"appid": f"wx{n:014d}"}})
        for n, a in enumerate(planned)
        if a.wechat and a.parent is not None
    }
    for n, a in enumerate(planned):  # the rest: half on the district's account, half on none
        if a.code not in overlays and a.parent is not None and n % 2:
            overlays[a.code] = AgencyConfig(channels={"wechat": {"use": "parent"}})
    settings = Settings(
        data_dir=folder,
        database_url=f"sqlite:///{folder / 'govpub.db'}",
        channels={
            "wechat": ChannelConfig(
                kind="wechat", options={"appid": "wxdistrict000001", "secret_env": "HOME"}
            ),
            "feed": ChannelConfig(kind="feed"),
        },
        agencies=overlays,
    )
    services = build_services(settings)
    upgrade(services.engine)
    for a in planned:
        add(services.engine, Agency(a.code, a.name, parent=a.parent, kind=a.kind, path=a.path), NOW)
    services.registry.forget()

    def build() -> Any:
        services._channels.clear()
        return services.channel("wechat")

    built = timed(build, 5)
    channel: Any = services.channel("wechat")
    accounts = channel.accounts()
    base = template(demo_items()[0])
    items = [
        base.model_copy(update={"agency": base.agency.model_copy(update={"code": a.code})}) for a in planned
    ]

    def choose() -> int:
        served = 0
        for item in items:
            ctx = DeliveryContext(delivery_id=1, attempt=1, channel="wechat", now=NOW)
            try:
                channel.account_of(item, ctx)
                served += 1
            except Exception:  # an agency no account serves: no delivery would exist
                pass
        return served

    per_item = timed(choose, 5) / len(items) * 1000
    print(f"agencies served by an account: {choose()} of {len(items)}")
    from channels.wechat.console import _served, _visible

    scoped = Reach.of([planned[1].code])
    page_check = timed(lambda: _visible(planned[1].code, _served(channel), scoped), 20)

    def listing_of() -> list[Any]:
        served = _served(channel)
        return [a for a in channel.accounts() if _visible(a.code, served, scoped)]

    assert [a.code for a in listing_of()] == [planned[1].code]
    listing = timed(listing_of, 5)
    feed: Any = services.channel("feed")
    feeds = timed(feed.all_scopes, 20)
    print(
        f"agencies {len(planned)}, WeChat accounts {len(accounts)} (the district's + {len(accounts) - 1} own)"
    )
    print(f"build the WeChat channel (every account's options parsed): {built:.1f} ms")
    print(f"choose the account of one delivery (first attempt): {per_item:.0f} µs")
    print(f"scope check of one account page (scoped operator): {page_check:.2f} ms")
    print(f"account list of the console page (scoped operator, every account checked): {listing:.1f} ms")
    print(f"feed channel: every feed ({len(feed.all_scopes())}): {feeds:.2f} ms")


if __name__ == "__main__":
    main()
