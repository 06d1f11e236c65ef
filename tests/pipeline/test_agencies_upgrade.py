"""An installation made for one agency upgrades to platform mode (core ``0011_agencies``):
its items become the first agency's with every 索引号 unchanged, revisions and
deliveries carry the agency, sources are bound, operators become admins, and
``govpub db check`` then finds nothing to do. The downgrade takes it all back."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import Engine, MetaData, inspect, select

from pipeline import db, registry
from pipeline.cli.main import main
from pipeline.console.tables import console_users
from pipeline.db import make_engine
from pipeline.schema import alembic_config, pending, sqlite_keys_checked_at_the_end, target_metadata, upgrade

NOW = datetime(2026, 3, 1, tzinfo=UTC)
CODE = "113703030000000000"


def old_installation(engine: Engine, items: int = 3) -> list[str]:
    """A 0010 database: one agency's items (two revisions of the first), their
    deliveries, a source with items and one without, an operator and an auditor."""
    upgrade(engine, "0010_delivery_kind")
    old = MetaData()
    old.reflect(engine)
    t = old.tables
    stamp = NOW.replace(tzinfo=None) if engine.dialect.name == "sqlite" else NOW
    numbers = []
    with engine.begin() as conn:
        for name in ("edu-oa", "idle"):
            conn.execute(t["sources"].insert().values(name=name, token_hash=f"h-{name}", created_at=stamp))
        conn.execute(t["index_serials"].insert().values(agency_code=CODE, year=2026, last_serial=items))
        for n in range(1, items + 1):
            index_no = f"{CODE}/2026-{n:05d}"
            numbers.append(index_no)
            item_pk = conn.execute(
                t["items"]
                .insert()
                .values(
                    source="edu-oa",
                    item_id=str(n),
                    index_no=index_no,
                    agency_code=CODE,
                    latest_revision=2 if n == 1 else 1,
                    created_at=stamp,
                )
            ).inserted_primary_key[0]
            for revision in range(1, (2 if n == 1 else 1) + 1):
                document = {
                    "agency": {
                        "code": CODE,
                        "name": f"张店区教育局{'（旧）' if (n, revision) == (1, 1) else ''}",
                    }
                }
                revision_pk = conn.execute(
                    t["revisions"]
                    .insert()
                    .values(
                        item_pk=item_pk,
                        revision=revision,
                        body_hash=f"h{n}-{revision}",
                        title=f"标题 {n}",
                        category="政策法规",
                        generated_on=NOW.date(),
                        accepted_at=stamp,
                        document=document,
                    )
                ).inserted_primary_key[0]
                for channel in ("website", "feed"):
                    conn.execute(
                        t["deliveries"]
                        .insert()
                        .values(
                            item_pk=item_pk,
                            revision_pk=revision_pk,
                            revision=revision,
                            channel=channel,
                            kind=channel,
                            action="publish",
                            state="delivered",
                            attempts=1,
                            claim_no=1,
                            next_attempt_at=stamp,
                            created_at=stamp,
                            updated_at=stamp,
                        )
                    )
        users = t["console_users"]
        for username, role in (("ops", "operator"), ("audit", "auditor")):
            conn.execute(
                users.insert().values(username=username, password_hash="x", role=role, created_at=stamp)
            )
        conn.execute(
            t["audit_log"]
            .insert()
            .values(at=stamp, username="ops", role="operator", action="retry", item_pk=1)
        )
    return numbers


def test_a_single_agency_database_upgrades(db_url: str) -> None:
    engine = make_engine(db_url)
    numbers = old_installation(engine)
    upgrade(engine, agency_paths={CODE: "jyj"})

    with engine.connect() as conn:
        assert (
            compare_metadata(MigrationContext.configure(conn), target_metadata(registry.plugins().values()))
            == []
        )
        (agency,) = conn.execute(select(db.agencies)).all()
        assert (agency.code, agency.name, agency.path, agency.kind) == (
            CODE,
            "张店区教育局",
            "jyj",
            "department",
        )
        assert conn.execute(select(db.items.c.index_no).order_by(db.items.c.pk)).scalars().all() == numbers
        assert set(conn.execute(select(db.revisions.c.agency_code)).scalars()) == {CODE}
        assert set(conn.execute(select(db.deliveries.c.agency_code)).scalars()) == {CODE}
        assert conn.execute(select(db.deliveries.c.id)).scalars().all()  # the test has rows to look at
        bound = {tuple(r) for r in conn.execute(select(db.source_agencies)).all()}
        assert bound == {("edu-oa", CODE), ("idle", CODE)}
        roles = dict(conn.execute(select(console_users.c.username, console_users.c.role)).all())
        platform = dict(conn.execute(select(console_users.c.username, console_users.c.platform)).all())
        assert roles == {"ops": "admin", "audit": "auditor"} and platform == {"ops": False, "audit": True}
        audited = conn.execute(select(db.metadata.tables["audit_log"].c.agency_code)).scalar()
        assert audited == CODE
    assert pending(engine) == []


def test_the_path_defaults_to_the_code_and_db_check_is_clean(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    old_installation(engine, items=1)
    env = {"GOVPUB_DATABASE_URL": url, "GOVPUB_DATA_DIR": str(tmp_path), "GOVPUB_CONFIG": ""}
    runner = CliRunner()
    lacking = runner.invoke(main, ["db", "check"], env=env)
    assert lacking.exit_code == 1 and "0011_agencies" in lacking.output
    assert runner.invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    assert runner.invoke(main, ["db", "check"], env=env).exit_code == 0
    listed = runner.invoke(main, ["agencies", "list"], env=env)
    assert f"\t{CODE.lower()}\t" in listed.output and "张店区教育局" in listed.output


def test_the_downgrade_takes_it_back(db_url: str) -> None:
    engine = make_engine(db_url)
    numbers = old_installation(engine, items=2)
    upgrade(engine)
    cfg = alembic_config(engine)
    with engine.connect() as conn, sqlite_keys_checked_at_the_end(conn), conn.begin():  # as upgrade()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0010_delivery_kind")
    found = inspect(engine)
    assert "agencies" not in found.get_table_names()
    assert "agency_code" not in {c["name"] for c in found.get_columns("deliveries")}
    old = MetaData()
    old.reflect(engine, only=["items", "console_users"])
    with engine.connect() as conn:
        assert conn.execute(select(old.tables["items"].c.index_no)).scalars().all() == numbers
        assert set(conn.execute(select(old.tables["console_users"].c.role)).scalars()) == {
            "operator",
            "auditor",
        }
    upgrade(engine)  # and up again
    assert pending(engine) == []
