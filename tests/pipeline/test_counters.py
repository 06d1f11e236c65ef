"""The counters the report and the overview read (pipeline/counters.py): kept in the
transactions of the changes, equal to a recount from the log after concurrent workers,
filled by the migration, checked and rewritten by ``govpub report recount``.

tests/pipeline/test_report_reached.py checks them against the log after every step of
the state machine; these tests cover the rest.
"""

from __future__ import annotations

import importlib
import random
import threading
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from pipeline import counters, db
from pipeline.cli.main import main
from pipeline.config import ChannelConfig
from pipeline.errors import InDoubt, PermanentError
from pipeline.model import ItemIn
from pipeline.overview import period_counts, period_counts_from_log
from pipeline.recount import differences
from pipeline.schema import upgrade
from pipeline.services import Services, build_services
from tests.helpers import TEST_AGENCY, TEST_AGENCY_NAME, make_item, register_agencies
from tests.pipeline.report_support import KnownYear, LogWriter, local

CHANNELS = ("m1", "m2", "m3", "m4")  # four channels of one kind: one role, one kind


def built(settings_for: Any, url: str) -> Services:
    channels = {name: ChannelConfig(kind="memory") for name in CHANNELS}
    services = build_services(settings_for(database_url=url, channels=channels))
    upgrade(services.engine)
    register_agencies(services.engine, {TEST_AGENCY: TEST_AGENCY_NAME})
    return services


@pytest.fixture
def services(settings_for: Any, db_url: str) -> Any:
    made = built(settings_for, db_url)
    yield made
    made.engine.dispose()


def accept(services: Services, n: int, moment: datetime, **changes: Any) -> list[int]:
    item = ItemIn.model_validate({**make_item(n, **changes), "source": "test"})
    wanted = {name: name != "m4" or n % 3 != 0 for name in CHANNELS}  # some m4 rows born skipped
    return [int(d) for d, _ in services.store.accept(item, wanted, now=moment).work]


def sums(services: Services, measure: str) -> dict[str, int]:
    C = db.counters
    with services.engine.connect() as conn:
        rows = conn.execute(
            select(C.c.name, func.sum(C.c.n)).where(C.c.measure == measure).group_by(C.c.name)
        ).all()
    return {name: int(n) for name, n in rows if n}


def test_concurrent_workers_count_each_item_once_per_role_and_day(settings_for: Any, pg_url: str) -> None:
    """Eight threads deliver 40 items to four channels of one role at once, in random
    order, with delivery moments on both sides of a local midnight: the item's first
    moves between days while other workers deliver the same item. No count is lost
    or doubled."""
    services = built(settings_for, pg_url)
    try:
        midnight = local(2017, 6, 2)
        work = []
        for n in range(40):
            for i, delivery in enumerate(accept(services, n, midnight - timedelta(hours=1))):
                work.append((delivery, midnight + timedelta(minutes=random.randint(-30, 30) + i)))
        random.shuffle(work)
        lock, errors = threading.Lock(), []

        def deliver() -> None:
            while True:
                with lock:
                    if not work:
                        return
                    delivery, moment = work.pop()
                try:
                    claim = services.deliveries.claim(delivery, "w", moment, 60)
                    assert claim is not None
                    assert services.deliveries.succeeded(claim, "w", moment, {"id": delivery})
                except Exception as exc:  # reported below, with the thread's failure
                    errors.append(exc)
                    return

        threads = [threading.Thread(target=deliver) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        with services.engine.connect() as conn:
            assert [str(d) for d in differences(conn)] == []
        assert sums(services, "role") == {"other": 40}
        assert sums(services, "kind") == {"memory": 40}
        assert sums(services, "reached") == {"m1": 40, "m2": 40, "m3": 40, "m4": 26}
        assert sums(services, "state") == {"m1": 40, "m2": 40, "m3": 40, "m4": 40}  # 14 skipped at intake
    finally:
        services.engine.dispose()


def test_the_overview_reads_the_same_periods_from_the_counters_as_from_the_rows(services: Services) -> None:
    now = local(2017, 6, 7, 15)
    store = services.deliveries
    for n, days_ago in enumerate((0, 1, 3, 30, 200)):
        moment = now - timedelta(days=days_ago)
        first, second, third = accept(services, n, moment)[:3]
        claim = store.claim(first, "w", moment, 60)
        assert claim is not None and store.succeeded(claim, "w", moment, {"id": first})
        claim = store.claim(second, "w", moment, 60)
        assert claim is not None
        if n % 2:
            store.failed(claim, "w", moment, PermanentError("refused"), retry_at=None)
        else:
            store.waiting(claim, "w", moment, "sent", retry_at=moment, ref={"id": second})
            again = store.claim(second, "w", moment, 60)  # sending, still counted as unconfirmed
            assert again is not None
            if n == 2:
                store.in_doubt(again, "w", moment, InDoubt("lost the answer"))
        store.skip(third, "operator", "not wanted", moment)
    with services.engine.connect() as conn:
        assert [str(d) for d in differences(conn)] == []
        counted = period_counts(conn, now, "Asia/Shanghai")
        assert counted == period_counts_from_log(conn, now, "Asia/Shanghai")
    # the fifth item was accepted in 2016; the week began on Monday 5 June
    assert counted["m1"]["year"] == {"delivered": 4}
    assert counted["m2"]["week"] == {"unconfirmed": 1, "dead": 1}
    assert counted["m2"]["year"] == {"unconfirmed": 1, "dead": 2, "in_doubt": 1}
    assert counted["m3"]["today"] == {"skipped": 1}
    assert counted["m4"]["year"] == {"pending": 2, "skipped": 2}


def test_recount_prints_a_difference_exits_1_and_fix_rewrites(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    KnownYear(LogWriter(services.engine))
    monkeypatch.setenv("GOVPUB_DATABASE_URL", str(services.engine.url.render_as_string(hide_password=False)))
    monkeypatch.setenv("GOVPUB_CONFIG", "")
    runner = CliRunner()
    agreed = runner.invoke(main, ["report", "recount", "2017"])
    assert agreed.exit_code == 0, agreed.output
    assert "as the log says" in agreed.output
    C = db.counters
    with services.engine.begin() as conn:
        in_2017 = [
            C.c.measure == "role",
            C.c.name == "portal",
            C.c.day >= date(2017, 1, 1),
            C.c.day <= date(2017, 12, 31),
        ]
        conn.execute(update(C).where(*in_2017).values(n=C.c.n + 1))
    differing = runner.invoke(main, ["report", "recount", "2017"])
    assert differing.exit_code == 1
    assert "role portal" in differing.output and "counters" in differing.output
    other_year = runner.invoke(main, ["report", "recount", "2016"])
    assert other_year.exit_code == 0, other_year.output  # another year is right
    fixed = runner.invoke(main, ["report", "recount", "2017", "--fix"])
    assert fixed.exit_code == 0 and "rewritten" in fixed.output
    every_year = runner.invoke(main, ["report", "recount"])
    assert every_year.exit_code == 0, every_year.output


def test_the_migration_fills_the_counters_from_an_existing_log(settings_for: Any, db_url: str) -> None:
    migration = importlib.import_module("pipeline.migrations.versions.0016_counters")
    services = build_services(settings_for(database_url=db_url))
    try:
        upgrade(services.engine, migration.down_revision)
        register_agencies(services.engine, {TEST_AGENCY: TEST_AGENCY_NAME})
        KnownYear(LogWriter(services.engine, counters=False))  # a log written before the counters
        upgrade(services.engine)
        with services.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(db.counters)).scalar_one() > 0
            assert [str(d) for d in differences(conn)] == []
        assert sums(services, "role")["portal"] > 0
        assert counters.ZONE_NAME == "Asia/Shanghai"
    finally:
        services.engine.dispose()
