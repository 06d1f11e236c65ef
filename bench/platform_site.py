"""The website on a platform of 200 agencies and 1,000,000 items: how long one new item
takes to render into its agency's column, next to the single-agency baseline.

    .venv/bin/python -m bench.platform_site [--agencies 200] [--items 1000000] [--renders 20]
        [--columns largest,median,smallest] [--baseline-items 10000]

Loads the platform with :mod:`bench.platform_data` into a fresh PostgreSQL database,
builds the portal and the chosen agencies' columns (``govpub site rebuild --agency``,
timed), then times the delivery of new items of each chosen agency as a worker runs it
(claim, render, record): the newest item of its column, ``--renders`` times. Checks
that a render wrote in no other agency's column (only its own and the portal's latest
list and indexes), and prints how many files each render changed. The baseline is
:mod:`bench.website_render`'s newest-item case: one agency, ``--baseline-items`` items,
the same database server.
The issue's goal: one new item live on its column in under 200 ms of rendering.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import structlog

from bench import website_render
from bench.infra import fresh_postgres, register_demo_agency, scratch
from bench.platform_data import generate, plan
from channels.website.channel import WebsiteChannel
from channels.website.static import StaticSite
from pipeline.config import ChannelConfig, Settings
from pipeline.model import ItemIn
from pipeline.runner import run_delivery
from pipeline.schema import upgrade
from pipeline.services import Services, build_services

TEMPLATE = json.loads(website_render.DEMO.read_text("utf-8").splitlines()[0])


def installation(url: str, folder: Path) -> tuple[Services, StaticSite]:
    settings = Settings(
        database_url=url,
        data_dir=folder,
        channels={"website": ChannelConfig(kind="website", options={"output_dir": str(folder / "site")})},
    )
    services = build_services(settings)
    upgrade(services.engine)
    channel = services.channel("website")
    assert isinstance(channel, WebsiteChannel) and isinstance(channel.adapter, StaticSite)
    return services, channel.adapter


def submit(services: Services, code: str, name: str, n: int, day: date) -> int:
    raw = {**TEMPLATE, "source": "bench", "id": f"new-{code}-{n}", "title": f"新增公开信息 {n}"}
    raw.update(agency={"code": code, "name": name}, generated_on=day.isoformat())
    accepted = services.store.accept(ItemIn.model_validate(raw), {"website": True})
    return accepted.work[0][0]


def files(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def render(
    services: Services, site: StaticSite, code: str, name: str, path: str, renders: int
) -> dict[str, Any]:
    times, changed = [], []
    newest = date(2027, 1, 1)
    for n in range(renders):
        delivery = submit(services, code, name, n, newest + timedelta(days=n))
        before = files(site.folder)
        started = time.perf_counter()
        outcome = run_delivery(services, delivery, "website")
        times.append(time.perf_counter() - started)
        assert outcome == "delivered", outcome
        after = files(site.folder)
        touched = {p for p, m in after.items() if before.get(p) != m}
        # its own column and the portal's files (the latest list; the manifests when a year
        # starts), never another agency's column
        outside = {p for p in touched if "/" in p and p.split("/", 1)[0] not in (path, "latest", "search")}
        assert not outside, f"a render of {code} wrote in another column: {sorted(outside)[:5]}"
        changed.append(len(touched))
    times.sort()
    return {
        "median_ms": round(statistics.median(times) * 1000, 1),
        "p90_ms": round(times[min(len(times) - 1, int(len(times) * 0.9))] * 1000, 1),
        "max_ms": round(times[-1] * 1000, 1),
        "files_changed_median": statistics.median(changed),
    }


def baseline(items: int, renders: int) -> dict[str, Any]:
    """bench.website_render's newest-item case: one agency, ``items`` items."""
    with fresh_postgres() as url, scratch() as folder:
        services, site = installation(url, folder)
        register_demo_agency(services.engine)
        website_render.seed(services, items)
        website_render.build_site(services, site, item_pages=False)
        channel = services.channel("website")
        assert isinstance(channel, WebsiteChannel)
        runs = [
            website_render.timed_delivery(
                services, channel, website_render.submit(services, n, date(2027, 1, 1) + timedelta(days=n))
            )
            for n in range(renders)
        ]
        services.engine.dispose()
    times = sorted(t for t, _ in runs)
    return {
        "items": items,
        "median_ms": round(statistics.median(times) * 1000, 1),
        "max_ms": round(times[-1] * 1000, 1),
    }


def run(agencies: int, items: int, renders: int, columns: list[str], baseline_items: int) -> dict[str, Any]:
    planned = plan(agencies, items)
    by_size = sorted(planned, key=lambda a: a.items, reverse=True)
    chosen = {"largest": by_size[0], "median": by_size[len(by_size) // 2], "smallest": by_size[-1]}
    results: dict[str, Any] = {}
    with fresh_postgres() as url, scratch() as folder:
        services, site = installation(url, folder)
        loaded = generate(url, agencies, items)
        services.registry.forget()
        print(f"{items:,} items, {agencies} agencies loaded in {loaded['total_seconds']} s")
        started = time.perf_counter()
        site.rebuild(portal_only=True, progress=lambda line: None)
        print(f"portal built in {time.perf_counter() - started:.1f} s")
        for label in columns:
            agency = chosen[label]
            started = time.perf_counter()
            site.rebuild(agency=agency.code, progress=lambda line: None)
            built = time.perf_counter() - started
            figures = render(services, site, agency.code, agency.name, agency.path, renders)
            figures.update(items=agency.items, column_build_s=round(built, 1))
            results[label] = figures
            print(
                f"{label} agency ({agency.items:,} items; column built in {built:.1f} s): new item "
                f"median {figures['median_ms']} ms, p90 {figures['p90_ms']} ms, max {figures['max_ms']} ms, "
                f"{figures['files_changed_median']} files changed"
            )
        services.engine.dispose()
    base = baseline(baseline_items, renders)
    print(f"single-agency baseline ({baseline_items:,} items): new item median {base['median_ms']} ms")
    return {"load": loaded, "renders": renders, "columns": results, "baseline": base}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--agencies", type=int, default=200)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--renders", type=int, default=20)
    parser.add_argument("--columns", default="largest,median,smallest")
    parser.add_argument("--baseline-items", type=int, default=10_000)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    columns = [c for c in args.columns.split(",") if c]
    figures = run(args.agencies, args.items, args.renders, columns, args.baseline_items)
    print(json.dumps(figures, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
