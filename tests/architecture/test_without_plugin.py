"""Removing a channel kind leaves a working installation with the others.

For each installed kind, the kind is left out (``pipeline.registry.without``: what an
installation without its entry point sees) and an installation configured with every
other kind that needs no outside service starts, accepts an item, delivers it on every
channel and reports it; configuring the missing kind stops start-up naming the kinds
that are installed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from channels.testing import example_item, installation
from pipeline import registry
from pipeline.app import create_app
from pipeline.config import load_settings
from pipeline.errors import ConfigError
from tests.architecture.without_kind import runnable
from tests.helpers import ROOT, wait_until

INSTALLED = sorted(registry.plugins())


@pytest.fixture(params=INSTALLED)
def removed(request: pytest.FixtureRequest) -> Iterator[str]:
    with registry.without([request.param]):
        yield request.param


def test_the_others_start_accept_deliver_and_report(removed: str, tmp_path: Path) -> None:
    channels = {k: v for k, v in runnable(tmp_path).items() if v["kind"] != removed}
    assert removed not in registry.plugins()
    with (
        installation(tmp_path, channels) as services,
        TestClient(create_app(services.settings, services)) as api,
    ):
        auth = {"authorization": f"Bearer {services.store.add_source('test')}"}
        assert api.post("/v1/items", json=example_item(1), headers=auth).status_code == 202

        def all_delivered() -> list[dict[str, Any]] | None:
            deliveries = api.get("/v1/items/test/t-1", headers=auth).json()["deliveries"]
            return deliveries if {d["state"] for d in deliveries} == {"delivered"} else None

        deliveries = wait_until(all_delivered, 60, "every delivery delivered")
        assert sorted(d["channel"] for d in deliveries) == sorted(channels)
        year = datetime.now(ZoneInfo(services.settings.timezone)).year
        report = api.get(f"/v1/reports/{year}")
        assert report.status_code == 200, report.text
        roles = {registry.plugin(c["kind"]).report_role for c in channels.values()}
        totals = report.json()["counts"]["totals"]  # distinct items per report role
        assert sorted(n for n in totals.values() if n) == [1] * len(roles), totals


def test_configuring_the_missing_kind_names_the_installed_ones(removed: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(data_dir=tmp_path, channels={"gone": {"kind": removed}})
    assert refused.value.key == "channels.gone.kind" and removed in str(refused.value)
    assert all(kind in str(refused.value) for kind in INSTALLED if kind != removed)


@pytest.mark.parametrize("kind", INSTALLED)
def test_an_installation_whose_kind_folder_was_deleted_still_works(kind: str, tmp_path: Path) -> None:
    """The same in a fresh process where the kind's package cannot be imported at all
    (``tests/architecture/without_kind.py``): the core must not import it anywhere."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.architecture.without_kind", kind, str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert kind not in seen["channels"] and seen["channels"], seen
    assert seen["loaded"] == [] and any(seen["totals"].values()), seen
