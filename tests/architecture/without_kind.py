"""``python -m tests.architecture.without_kind KIND FOLDER``: an installation from which
channel kind KIND was removed (its package cannot be imported and its entry point is
gone), configured with every other kind that works on this machine alone. It starts
the app with its embedded worker, accepts an item, waits until every channel has it,
then runs ``govpub report``; prints what it saw as JSON, exits 1 on the first failure.

A subprocess, because "removed" must hold from the first import on: a core module that
imports the removed package fails here, where leaving a kind out in a running process
(``pipeline.registry.without``) cannot see it.
"""

from __future__ import annotations

import importlib.abc
import importlib.metadata
import json
import os
import sys
from pathlib import Path
from typing import Any

import tomli_w


class Removed(importlib.abc.MetaPathFinder):
    """Imports of ``package`` and its modules fail, as if its folder were deleted."""

    def __init__(self, package: str) -> None:
        self.package = package

    def find_spec(self, name: str, path: Any, target: Any = None) -> None:
        if name == self.package or name.startswith(self.package + "."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


def remove(kind: str) -> None:
    sys.meta_path.insert(0, Removed(f"channels.{kind}"))
    listed = importlib.metadata.entry_points

    def without_its_entry_point(**params: Any) -> Any:
        found = listed(**params)
        if params.get("group") == "govpub.channels":
            return importlib.metadata.EntryPoints(ep for ep in found if ep.name != kind)
        return found

    importlib.metadata.entry_points = without_its_entry_point  # type: ignore[assignment]


def runnable(folder: Path) -> dict[str, dict[str, Any]]:
    """One instance of each kind that works on this machine alone (the WeChat channel
    needs its API: it is left out of the configuration, but still removed as a kind)."""
    return {
        "memory": {"kind": "memory"},
        "website": {"kind": "website", "options": {"output_dir": str(folder / "site")}},
        "feed": {"kind": "feed", "options": {"output_dir": str(folder / "feeds")}},
        "archive": {
            "kind": "archive",
            "options": {
                "schedule": "per-item",
                "settle_seconds": 0,
                "source_organization": "张店区教育局",
                "transport": {"kind": "directory", "path": str(folder / "drop")},
            },
        },
    }


def run(kind: str, folder: Path) -> dict[str, Any]:
    remove(kind)
    channels = {name: c for name, c in runnable(folder).items() if c["kind"] != kind}
    (folder / "govpub.toml").write_text(tomli_w.dumps({"channels": channels}), encoding="utf-8")
    os.environ.update(
        GOVPUB_CONFIG=str(folder / "govpub.toml"),
        GOVPUB_DATA_DIR=str(folder / "data"),
        GOVPUB_DATABASE_URL=f"sqlite:///{folder / 'govpub.db'}",
    )
    from click.testing import CliRunner
    from fastapi.testclient import TestClient

    from channels.testing import example_item
    from pipeline.app import create_app
    from pipeline.cli.main import main
    from pipeline.config import load_settings
    from pipeline.schema import upgrade
    from pipeline.services import build_services
    from tests.helpers import TEST_AGENCY, TEST_AGENCY_NAME, register_agencies, wait_until

    settings = load_settings()
    services = build_services(settings)
    upgrade(services.engine)
    register_agencies(services.engine, {TEST_AGENCY: TEST_AGENCY_NAME})
    with TestClient(create_app(settings, services)) as api:
        auth = {"authorization": f"Bearer {services.store.add_source('test')}"}
        answer = api.post("/v1/items", json=example_item(1), headers=auth)
        assert answer.status_code == 202, answer.text

        def all_delivered() -> list[dict[str, Any]] | None:
            deliveries: list[dict[str, Any]] = api.get("/v1/items/test/t-1", headers=auth).json()[
                "deliveries"
            ]
            return deliveries if {d["state"] for d in deliveries} == {"delivered"} else None

        deliveries = wait_until(all_delivered, 60, "every delivery delivered")
    year = services.clock().year
    report = CliRunner().invoke(main, ["report", "--year", str(year), "--out", str(folder / "report")])
    assert report.exit_code == 0, report.output
    written = json.loads((folder / "report" / f"report-{year}.json").read_text("utf-8"))
    return {
        "channels": sorted(d["channel"] for d in deliveries),
        "totals": written["counts"]["totals"],
        "loaded": sorted(m for m in sys.modules if m.startswith(f"channels.{kind}")),
    }


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1], Path(sys.argv[2]))))
