"""``govpub archive list | export | verify`` on a configured installation, and an
item going from the intake API to an archive package in the embedded mode."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from fastapi.testclient import TestClient

from channels.archive.verify import verify
from pipeline.app import create_app
from pipeline.cli.main import main
from pipeline.config import ChannelConfig
from pipeline.runner import run_batch
from pipeline.schema import upgrade
from pipeline.services import build_services
from tests.channels.archive_support import MARCH_10, accept, configured, deliveries, receiver_options
from tests.helpers import TEST_AGENCY, TEST_AGENCY_NAME, make_item, register_agencies, wait_until

__all__ = ["configured"]  # the fixture, imported for pytest


def govpub(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_archive_list_export_and_verify(configured: Any, tmp_path: Path) -> None:
    for n in (1, 2):
        accept(configured, n, MARCH_10)
    listed = govpub("archive", "list", "--json")
    assert {r["receiver"]: r["state"] for r in json.loads(listed.stdout)} == {
        "district": "no package yet",
        "library": "no package yet",
    }

    first = govpub("archive", "export", "--receiver", "district", "--period", "2017-03")
    assert first.exit_code == 0, first.output
    assert "package district-113703030000000000-2017-03: 2 items, 0 retractions" in first.stdout
    assert "delivered to district: receipt directory:" in first.stdout
    again = govpub("archive", "export", "--receiver", "district", "--period", "2017-03", "--no-send")
    sha = [out.split("sha256 ")[1].split()[0] for out in (first.stdout, again.stdout)]
    assert sha[0] == sha[1] and "identical to the first build" in again.stdout

    wrong = govpub("archive", "export", "--receiver", "library", "--period", "2017-03")
    assert wrong.exit_code == 1 and "not a weekly period" in wrong.output
    unknown = govpub("archive", "export", "--receiver", "nobody", "--period", "2017-03")
    assert "configured: ['district', 'library']" in unknown.output

    table = govpub("archive", "list")
    assert "district-113703030000000000-2017-03" in table.stdout and "delivered" in table.stdout
    package = tmp_path / "drop" / "district-113703030000000000-2017-03.tar"
    ok = govpub("archive", "verify", str(package))
    assert ok.exit_code == 0 and ok.stdout.startswith("OK ") and "2 items" in ok.stdout

    damaged = tmp_path / "damaged.tar"
    data = bytearray(package.read_bytes())
    data[data.find("<题名>".encode()) + 12] ^= 0x01
    damaged.write_bytes(bytes(data))
    bad = govpub("archive", "verify", str(damaged))
    assert bad.exit_code == 1 and bad.stdout.startswith("FAILED")
    assert "/metadata.xml: sha256 checksum does not match manifest-sha256.txt" in bad.stdout

    # the deliveries waiting for March are answered by the exported package, not sent again
    run_batch(configured, "district")
    refs = {r.external_ref["package_id"] for r in deliveries(configured)}
    assert refs == {"district-113703030000000000-2017-03"}
    assert [p.name for p in (tmp_path / "drop").iterdir()] == ["district-113703030000000000-2017-03.tar"]
    weekly = configured.channel("library").target_period(MARCH_10, "113703030000000000")
    assert weekly.label == "2017-W10"


def test_an_item_from_the_intake_reaches_a_per_item_receiver(settings_for: Any, tmp_path: Path) -> None:
    options = receiver_options(tmp_path / "drop", schedule="per-item")
    settings = settings_for(channels={"library": ChannelConfig(kind="archive", options=options)})
    services = build_services(settings)
    upgrade(services.engine)
    register_agencies(services.engine, {TEST_AGENCY: TEST_AGENCY_NAME})
    token = services.store.add_source("test")
    with TestClient(create_app(settings, services)) as api:
        answer = api.post(
            "/v1/items", json=make_item(1, channels=["archive"]), headers={"authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 202, answer.text
        key = answer.json()["index_no"].replace("/", "-")
        (row,) = wait_until(
            lambda: [r for r in deliveries(services, "library") if r.state == "delivered"],
            30,
            "archive delivery",
        )
    assert row.external_ref["package_id"] == f"library-{key}-r1"
    assert verify(tmp_path / "drop" / f"library-{key}-r1.tar").ok
    services.engine.dispose()
