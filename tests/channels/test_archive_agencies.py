"""Archive receivers on a platform: one package per (receiver, agency, period); a
per-agency receiver (the instance's ``agencies``, or an agency's own overlay) gets only
its agency's items, the platform-wide receiver every agency's packages. Through the
store and the runner (monthly periods, a clock the test moves), and through the running
system (intake over HTTP, Celery workers, per-item receivers)."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from channels.archive.channel import ArchiveChannel
from channels.archive.ledger import last_per_receiver, packages
from channels.archive.verify import verify
from pipeline import agencies, db
from pipeline.app import create_app
from pipeline.cli.main import main
from pipeline.config import AgencyConfig, ChannelConfig
from pipeline.localcluster import LocalCluster
from pipeline.model import ItemIn
from pipeline.report import build_report
from pipeline.report.summary import build_summary
from pipeline.runner import run_batch
from pipeline.schema import upgrade
from pipeline.services import Services, build_services
from tests.channels.archive_support import APRIL_2, MARCH_10, Clock, receiver_options
from tests.helpers import make_item, wait_until

A, B = "113703030000000000", "113703030000000099"  # 教育局, 卫健局
NAMES = {A: "张店区教育局", B: "张店区卫健局"}
NOW = datetime(2017, 1, 1, tzinfo=UTC)


def register(services: Services) -> None:
    agencies.add(services.engine, agencies.Agency(A, NAMES[A], path="jyj"), NOW)
    agencies.add(services.engine, agencies.Agency(B, NAMES[B], path="wjj"), NOW)


def receivers(drop: Path, schedule: str = "monthly") -> dict[str, Any]:
    """``district`` takes every agency's packages; ``jyj-room`` serves A only (its
    ``agencies``); ``records`` serves B through B's own receiver (an overlay) and not A."""

    def options(folder: str, **more: Any) -> dict[str, Any]:
        return receiver_options(drop / folder, schedule=schedule, source_organization="张店区档案馆", **more)

    return {
        "district": {"kind": "archive", "options": options("district")},
        "jyj-room": {"kind": "archive", "agencies": [A], "options": options("jyj-room")},
        "records": {"kind": "archive", "options": options("records")},
    }


def overlays(drop: Path) -> dict[str, Any]:
    return {
        A: {"channels": {"records": {"use": "none"}}},
        B: {
            "channels": {
                "records": {
                    "source_organization": "张店区卫健局档案室",
                    "transport": {"kind": "directory", "path": str(drop / "b-records")},
                }
            }
        },
    }


def accept(services: Services, code: str, n: int, at: datetime) -> None:
    raw = {**make_item(f"{code[-2:]}-{n}", agency={"code": code, "name": NAMES[code]}), "source": "test"}
    item = ItemIn.model_validate(raw)
    services.store.accept(item, services.channels_for(code, None), now=at)


@pytest.fixture
def platform(settings_for: Any, tmp_path: Path) -> Iterator[Services]:
    drop = tmp_path / "drop"
    channels = {name: ChannelConfig(**cfg) for name, cfg in receivers(drop).items()}
    declared = {code: AgencyConfig(**cfg) for code, cfg in overlays(drop).items()}
    services = build_services(settings_for(channels=channels, agencies=declared))
    upgrade(services.engine)
    register(services)
    services.clock = Clock(MARCH_10)
    yield services
    services.engine.dispose()


def members(package: Path) -> set[str]:
    """The 索引号 of the items a package holds (its data/<索引号>/ folders)."""
    with tarfile.open(package) as archive:
        names = [m.name.split("/") for m in archive.getmembers()]
    return {"/".join(parts[2:4]) for parts in names if len(parts) > 4 and parts[1] == "data"}


def bag_info(package: Path) -> dict[str, str]:
    with tarfile.open(package) as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith("/bag-info.txt"))
        text = archive.extractfile(member).read().decode()  # type: ignore[union-attr]
    return dict(line.split(": ", 1) for line in text.splitlines())


def test_each_agency_gets_its_own_package_per_receiver_and_period(platform: Services, tmp_path: Path) -> None:
    for n in range(1, 3):
        accept(platform, A, n, MARCH_10 + timedelta(days=n))
    for n in range(1, 4):
        accept(platform, B, n, MARCH_10 + timedelta(days=n))
    platform.clock.now = APRIL_2  # type: ignore[attr-defined]
    for name in ("district", "jyj-room", "records"):
        run_batch(platform, name)
    drop = tmp_path / "drop"
    a_items = {f"{A}/2017-0000{n}" for n in (1, 2)}
    b_items = {f"{B}/2017-0000{n}" for n in (1, 2, 3)}

    district = {p.name for p in (drop / "district").iterdir()}
    assert district == {f"district-{A}-2017-03.tar", f"district-{B}-2017-03.tar"}
    assert members(drop / "district" / f"district-{A}-2017-03.tar") == a_items
    assert members(drop / "district" / f"district-{B}-2017-03.tar") == b_items
    assert bag_info(drop / "district" / f"district-{B}-2017-03.tar")["Agency-Code"] == B
    assert [p.name for p in (drop / "jyj-room").iterdir()] == [f"jyj-room-{A}-2017-03.tar"]
    assert members(drop / "jyj-room" / f"jyj-room-{A}-2017-03.tar") == a_items
    assert not (drop / "records").exists(), "A is not served by records; B's go to its own receiver"
    own = drop / "b-records" / f"records-{B}-2017-03.tar"
    assert members(own) == b_items and bag_info(own)["Source-Organization"] == "张店区卫健局档案室"
    for package in [*(drop / "district").iterdir(), own]:
        report = verify(package, platform.engine)
        assert report.ok, report.text()
    with platform.engine.connect() as conn:
        states = conn.execute(
            select(db.deliveries.c.channel, db.deliveries.c.agency_code, db.deliveries.c.state)
        )
        assert {(c, a) for c, a, s in states if s == "delivered"} == {
            ("district", A),
            ("district", B),
            ("jyj-room", A),
            ("records", B),
        }
    assert {(p.receiver, p.agency_code) for p in last_per_receiver(platform.engine, B)} == {
        ("district", B),
        ("records", B),
    }

    # a late delivery of A for March goes into A's next package, B's March package stays
    accept(platform, A, 3, datetime(2017, 3, 30, 2, tzinfo=UTC))
    platform.clock.now = datetime(2017, 5, 2, 2, tzinfo=UTC)  # type: ignore[attr-defined]
    run_batch(platform, "district")
    assert members(drop / "district" / f"district-{A}-2017-04.tar") == {f"{A}/2017-00003"}
    assert len(packages(platform.engine, "district", agency=B)) == 1

    # the agency summary and reports see the receivers' deliveries per agency
    year = build_summary(platform.engine, platform.settings, 2017)
    assert {r.code: r.items.get("archive", 0) for r in year.rows} == {A: 3, B: 3}
    mine = build_report(platform.engine, platform.settings, 2017, agency=B)
    assert {c.channel: c.items for c in mine.counts.channels if c.kind == "archive"} == {
        "district": 3,
        "records": 3,
    }


def test_archive_list_and_export_per_agency(platform: Services, tmp_path: Path, monkeypatch: Any) -> None:
    """The CLI on the same configuration, written to a file."""
    import tomli_w

    drop = tmp_path / "drop"
    config = tmp_path / "govpub.toml"
    settings = {
        "database_url": platform.settings.database_url,
        "data_dir": str(platform.settings.data_dir),
        "channels": receivers(drop),
        "agencies": overlays(drop),
    }
    config.write_text(tomli_w.dumps(settings), encoding="utf-8")
    monkeypatch.setenv("GOVPUB_CONFIG", str(config))
    for code in (A, B):
        accept(platform, code, 1, MARCH_10)

    def govpub(*args: str) -> Any:
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    only_b = govpub("archive", "export", "--receiver", "district", "--period", "2017-03", "--agency", B)
    assert only_b.exit_code == 0, only_b.output
    assert f"package district-{B}-2017-03: 1 items" in only_b.output and A not in only_b.output
    both = govpub("archive", "export", "--receiver", "district", "--period", "2017-03")
    assert both.exit_code == 0, both.output
    assert f"district-{A}-2017-03: 1 items" in both.output and f"district-{B}-2017-03: 1 items" in both.output
    listed = json.loads(govpub("archive", "list", "--agency", A, "--json").stdout)
    assert [(r["receiver"], r["agency"], r["package_id"]) for r in listed] == [
        ("district", A, f"district-{A}-2017-03")
    ]
    listed = json.loads(govpub("archive", "list", "--receiver", "district", "--json").stdout)
    assert {r["agency"] for r in listed} == {A, B}
    unknown = govpub("archive", "list", "--agency", "NOSUCHAGENCY1")
    assert unknown.exit_code != 0 and "no agency NOSUCHAGENCY1" in unknown.output
    nothing = govpub("archive", "export", "--receiver", "jyj-room", "--period", "2017-03", "--agency", B)
    assert nothing.exit_code != 0 and "nothing to export" in nothing.output


def test_packages_made_before_platform_mode_get_their_agency(
    settings_for: Any, db_url: str, tmp_path: Path
) -> None:
    """The archive revision reads each old package's agency from its members."""
    from alembic import command

    from channels.archive.tables import archive_members
    from pipeline.schema import alembic_config

    district = {"district": ChannelConfig(**receivers(tmp_path / "drop")["district"])}
    services = build_services(settings_for(database_url=db_url, channels=district))
    upgrade(services.engine)
    register(services)
    accept(services, B, 1, MARCH_10)
    with services.engine.connect() as conn:
        delivery = conn.execute(select(db.deliveries).where(db.deliveries.c.channel == "district")).one()
    cfg = alembic_config(services.engine)
    with services.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003_archive")
    old = sa.table(  # the row an older release wrote: no agency
        "archive_packages",
        *(sa.column(c) for c in ("package_id", "receiver", "period", "period_start", "period_end")),
        *(sa.column(c) for c in ("frozen_at", "item_count", "retraction_count")),
    )
    with services.engine.begin() as conn:
        conn.execute(
            insert(old).values(
                package_id="district-2017-03",
                receiver="district",
                period="2017-03",
                period_start=MARCH_10,
                period_end=APRIL_2,
                frozen_at=APRIL_2,
                item_count=1,
                retraction_count=0,
            )
        )
        conn.execute(
            insert(archive_members).values(
                delivery_id=delivery.id,
                package_id="district-2017-03",
                index_no=f"{B}/2017-00001",
                action="publish",
                revision_pk=delivery.revision_pk,
                snapshot={},
            )
        )
    upgrade(services.engine)
    (found,) = packages(services.engine, "district")
    assert (found.package_id, found.agency_code) == ("district-2017-03", B)
    channel = services.channel("district")
    assert isinstance(channel, ArchiveChannel)
    assert channel.ledger.exported(B, "2017-03") and not channel.ledger.exported(A, "2017-03")
    services.engine.dispose()


# -- through the running system ------------------------------------------------------


@pytest.fixture
def cluster(tmp_path: Path, pg_url: str, redis_url: str) -> Iterator[LocalCluster]:
    drop = tmp_path / "drop"
    made = LocalCluster.create(
        tmp_path / "cluster",
        pg_url,
        redis_url,
        receivers(drop, schedule="per-item"),
        agencies=overlays(drop),
        retry_base_seconds=0.1,
        retry_max_seconds=0.5,
        sweep_interval_seconds=0.2,
    )
    register(made.services)
    yield made
    made.stop()


def test_two_agencies_items_reach_only_their_receivers_through_workers(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    services = cluster.services
    tokens = {code: services.store.add_source(f"src-{code[-2:]}") for code in (A, B)}
    with services.engine.begin() as conn:
        for code in (A, B):
            conn.execute(insert(db.source_agencies).values(source=f"src-{code[-2:]}", agency_code=code))
    cluster.worker("govpub.district,govpub.jyj-room,govpub.records")
    with TestClient(create_app(cluster.settings, services)) as client:
        for code, count in ((A, 2), (B, 3)):
            items = [
                make_item(f"{code[-2:]}-{n}", agency={"code": code, "name": NAMES[code]})
                for n in range(count)
            ]
            answer = client.post(
                "/v1/items:batch", json={"items": items}, headers={"authorization": f"Bearer {tokens[code]}"}
            )
            assert answer.status_code == 200 and {a["status"] for a in answer.json()} == {202}, answer.text

    def delivered() -> dict[str, int]:
        return services.store.counts()

    wait_until(
        lambda: (
            {ch: c.get("delivered") for ch, c in delivered().items()}
            == {"district": 5, "jyj-room": 2, "records": 3}
        ),
        90,
        f"archive deliveries\n{cluster.logs()}",
    )
    drop = tmp_path / "drop"
    by_agency: dict[str, set[str]] = {}
    for package in (drop / "district").iterdir():
        found = members(package)  # a per-item package: its 索引号 names the agency
        (code,) = {index_no.split("/")[0] for index_no in found}
        assert "Agency-Code" not in bag_info(package) and verify(package, services.engine).ok
        by_agency.setdefault(code, set()).update(found)
    assert {code: len(found) for code, found in by_agency.items()} == {A: 2, B: 3}
    room = {i for p in (drop / "jyj-room").iterdir() for i in members(p)}
    assert room == by_agency[A]
    own = {i for p in (drop / "b-records").iterdir() for i in members(p)}
    assert own == by_agency[B] and not (drop / "records").exists()
    year = datetime.now(UTC).astimezone().year
    for code, count in ((A, 2), (B, 3)):
        report = build_report(services.engine, services.settings, year, agency=code)
        assert report.counts.totals.deposit == count
    summary = build_summary(services.engine, services.settings, year)
    assert (
        summary.total.items["archive"]
        == 5
        == build_report(services.engine, services.settings, year).counts.totals.deposit
    )
