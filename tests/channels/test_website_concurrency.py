"""Two worker processes render into one site folder at the same time: every listing
ends up holding every item once, byte for byte what a rebuild from the database gives."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from pipeline.config import Settings
from pipeline.model import ItemIn
from pipeline.schema import upgrade
from pipeline.services import build_services
from tests.channels.website_helpers import COLUMN, snapshot, website
from tests.helpers import ROOT, TEST_AGENCY, TEST_AGENCY_NAME, make_item, register_agencies

WORKER = """
import sys
from pipeline.config import load_settings
from pipeline.runner import run_delivery
from pipeline.services import build_services
services = build_services(load_settings())
print([run_delivery(services, int(d), "website") for d in sys.argv[1:]])
"""


def test_two_processes_render_one_site_consistently(settings_for: Any, tmp_path: Path) -> None:
    site = tmp_path / "site"
    settings: Settings = settings_for(channels=website(site, page_size=3))
    services = build_services(settings)
    upgrade(services.engine)
    register_agencies(services.engine, {TEST_AGENCY: TEST_AGENCY_NAME})
    ids = []
    for n in range(1, 21):
        raw = make_item(n, source="test", generated_on=f"2017-{1 + n % 12:02d}-{1 + n:02d}")
        if n % 3 == 0:
            raw.update(category="业务工作", subcategory="人事管理")
        ids += [d for d, _ in services.store.accept(ItemIn.model_validate(raw), {"website": True}).work]
    env = {
        "GOVPUB_DATABASE_URL": settings.database_url,
        "GOVPUB_DATA_DIR": str(settings.data_dir),
        "GOVPUB_CHANNELS": json.dumps(
            {"website": {"kind": "website", "options": {"output_dir": str(site), "page_size": 3}}}
        ),
    }
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, *map(str, ids[half::2])],
            env={**_clean_env(), **env},
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for half in (0, 1)
    ]
    for worker in workers:
        out, err = worker.communicate(timeout=240)
        assert worker.returncode == 0, err.decode()[-2000:]
        assert set(json.loads(out.decode().strip().splitlines()[-1].replace("'", '"'))) == {"delivered"}

    rendered = generated(site)
    listed = json.loads((site / COLUMN / "search/2017.json").read_text())
    assert sorted(e["n"] for e in listed) == sorted(f"113703030000000000/2017-{n:05d}" for n in range(1, 21))
    for path in rendered:
        (site / path).unlink()
    services.channel("website").rebuild()  # type: ignore[attr-defined]
    assert generated(site) == rendered
    services.engine.dispose()


def generated(site: Path) -> dict[str, str]:
    """Listings, search indexes and sitemaps of the column and the portal: what a rebuild writes."""
    pages = {p: h for p, (h, _) in snapshot(site).items()}
    return {p: h for p, h in pages.items() if not re.match(r"(\w+/)?(items|assets)/", p)}


def _clean_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("GOVPUB_")}
