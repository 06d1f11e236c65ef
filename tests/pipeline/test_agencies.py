"""The agency registry: ``govpub agencies add/list/show/edit/retire`` against a real
database, govpub.toml winning over the CLI, and overlays checked at start-up."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from pipeline import db
from pipeline.agencies import Agency, Registry, add, edit, retire, sync_toml
from pipeline.cli.main import main
from pipeline.services import Services
from tests.helpers import make_item

NOW = datetime(2026, 3, 2, tzinfo=UTC)
DISTRICT, JYJ, MSJD = "11370303004300000X", "113703030000000000", "11370303MB1234567X"


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> dict[str, str]:
    return {
        "GOVPUB_DATABASE_URL": db_url,
        "GOVPUB_DATA_DIR": str(tmp_path / "data"),
        "GOVPUB_CONFIG": "",
        "GOVPUB_CHANNELS": json.dumps({"memory": {"kind": "memory"}}),
    }


def run(env: dict[str, str], *args: str) -> Result:
    result = CliRunner().invoke(main, ["agencies", *args], env=env)
    return result


def upgraded(env: dict[str, str]) -> None:
    assert CliRunner().invoke(main, ["db", "upgrade"], env=env).exit_code == 0


def test_add_list_show_edit_retire(env: dict[str, str]) -> None:
    upgraded(env)
    assert (
        run(
            env, "add", DISTRICT, "--name", "张店区人民政府", "--kind", "government", "--path", "zd"
        ).exit_code
        == 0
    )
    added = run(env, "add", JYJ, "--name", "张店区教育局", "--parent", DISTRICT, "--path", "jyj")
    assert added.exit_code == 0, added.output
    assert "path: jyj" in added.output

    again = run(env, "add", JYJ, "--name", "重复")
    assert again.exit_code != 0 and "not registered yet" in again.output
    clash = run(env, "add", MSJD, "--name", "马尚街道办事处", "--path", "jyj")
    assert clash.exit_code != 0 and f"agencies.{MSJD}.path" in clash.output
    unknown_parent = run(env, "add", MSJD, "--name", "马尚街道办事处", "--parent", "NOPE")
    assert unknown_parent.exit_code != 0 and "parent" in unknown_parent.output

    listed = json.loads(run(env, "list", "--json").output)
    assert [a["code"] for a in listed] == [DISTRICT, JYJ]  # government first
    assert listed[1]["column_name"] == "张店区教育局信息公开" and listed[1]["managed_by"] == "cli"

    shown = json.loads(run(env, "show", JYJ).output)
    assert shown["parents"] == [f"{DISTRICT} 张店区人民政府"]
    assert shown["channels"] == {"memory": {"account": "platform", "options": {}}}

    moved = run(env, "edit", JYJ, "--path", "edu", "--name", "张店区教育和体育局")
    assert moved.exit_code == 0, moved.output
    shown = json.loads(run(env, "show", JYJ).output)
    assert (shown["path"], shown["former_paths"], shown["name"]) == ("edu", ["jyj"], "张店区教育和体育局")
    cycle = run(env, "edit", DISTRICT, "--parent", JYJ)
    assert cycle.exit_code != 0 and "descendant" in cycle.output

    assert run(env, "retire", JYJ).exit_code == 0
    assert [a["code"] for a in json.loads(run(env, "list", "--json").output)] == [DISTRICT]
    everyone = json.loads(run(env, "list", "--json", "--retired").output)
    assert everyone[1]["retired_at"] is not None
    assert run(env, "show", "NOPE").exit_code != 0


def test_the_toml_file_wins(tmp_path: Path, env: dict[str, str]) -> None:
    upgraded(env)
    assert run(env, "add", JYJ, "--name", "旧名称", "--path", "old").exit_code == 0
    config = tmp_path / "govpub.toml"
    config.write_text(
        f"""
[channels.memory]
kind = "memory"

[agencies.{DISTRICT}]
name = "张店区人民政府"
kind = "government"
path = "zd"

[agencies.{JYJ}]
name = "张店区教育局"
parent = "{DISTRICT}"
path = "jyj"
""",
        "utf-8",
    )
    with_file = {**env, "GOVPUB_CONFIG": str(config)}
    del with_file["GOVPUB_CHANNELS"]
    listed = {a["code"]: a for a in json.loads(run(with_file, "list", "--json").output)}
    assert listed[JYJ]["name"] == "张店区教育局" and listed[JYJ]["managed_by"] == "toml"
    assert listed[JYJ]["former_paths"] == ["old"]  # the CLI's path still redirects
    refused = run(with_file, "edit", JYJ, "--name", "别的名字")
    assert refused.exit_code != 0
    assert f"agencies.{JYJ}.name" in refused.output and "edit the file" in refused.output
    assert f"agencies.{JYJ}" in run(with_file, "retire", JYJ).output

    config.write_text('[channels.memory]\nkind = "memory"\n', "utf-8")  # the agencies leave the file
    listed = {a["code"]: a for a in json.loads(run(with_file, "list", "--json").output)}
    assert listed[JYJ]["managed_by"] == "cli" and listed[JYJ]["name"] == "张店区教育局"  # history kept
    assert run(with_file, "edit", JYJ, "--name", "张店区教育和体育局").exit_code == 0


def test_an_agency_leaving_the_file_becomes_the_clis(services: Services) -> None:
    declared = services.settings.model_copy(
        update={"agencies": declared_agencies({JYJ: {"name": "张店区教育局", "path": "jyj"}})}
    )
    assert sync_toml(services.engine, declared, NOW) == [JYJ]
    assert sync_toml(services.engine, declared, NOW) == []  # nothing to write the second time
    left = services.settings.model_copy(update={"agencies": declared_agencies({MSJD: {"name": "马尚"}})})
    sync_toml(services.engine, left, NOW)
    registry = Registry(services.engine, refresh_seconds=0)
    assert registry.require(JYJ).managed_by == "cli"
    assert registry.require(MSJD).path == MSJD.lower()
    assert edit(services.engine, JYJ, NOW, name="改名").name == "改名"


def declared_agencies(raw: dict[str, dict[str, Any]]) -> Any:
    from pipeline.config import AgencyConfig

    return {code: AgencyConfig(**fields) for code, fields in raw.items()}


def test_a_bad_overlay_stops_serve_naming_its_key(tmp_path: Path, env: dict[str, str]) -> None:
    config = tmp_path / "govpub.toml"
    config.write_text(
        f"""
[channels.memory]
kind = "memory"

[agencies.{JYJ}]
name = "张店区教育局"

[agencies.{JYJ}.channels.memory]
delay_secondz = 1
""",
        "utf-8",
    )
    with_file = {**env, "GOVPUB_CONFIG": str(config)}
    del with_file["GOVPUB_CHANNELS"]
    stopped = CliRunner().invoke(main, ["serve", "--port", "1"], env=with_file)
    assert stopped.exit_code == 1
    assert f"agencies.{JYJ}.channels.memory.delay_secondz" in stopped.output
    config.write_text(
        f'[channels.memory]\nkind = "memory"\n[agencies.{JYJ}.channels.nope]\nappid = "x"\n', "utf-8"
    )
    refused = CliRunner().invoke(main, ["agencies", "list"], env=with_file)
    assert refused.exit_code == 1 and f"agencies.{JYJ}.channels.nope" in refused.output


def test_the_registry_follows_writes_of_other_processes(services: Services) -> None:
    mine = Registry(services.engine, refresh_seconds=0)
    other = Registry(services.engine, refresh_seconds=3600)
    before = mine.all()  # the tests' own agency (tests/conftest.py)
    assert other.all() == before and MSJD not in {a.code for a in before}
    add(services.engine, Agency(MSJD, "张店区教育局", path="jyj"), NOW)
    assert mine.require(MSJD).name == "张店区教育局"
    assert other.get(MSJD) is None  # cached until its refresh interval
    other.forget()
    assert other.by_path("jyj") == (other.require(MSJD), False)
    edit(services.engine, MSJD, NOW, path="edu")
    assert mine.by_path("jyj") == (mine.require(MSJD), True)
    assert retire(services.engine, MSJD, NOW).active is False
    assert MSJD not in {a.code for group in mine.groups().values() for a in group}


def test_revisions_and_deliveries_carry_the_items_agency(services: Services) -> None:
    from pipeline.model import ItemIn

    item = ItemIn.model_validate({**make_item(1), "source": "s"})
    accepted = services.store.accept(item, services.channels_for(item.agency.code, None), now=NOW)
    revised = ItemIn.model_validate({**make_item(1), "source": "s", "revision": 2})
    services.store.accept(revised, services.channels_for(item.agency.code, None), now=NOW)
    services.store.retract("s", item.id, "误发", now=NOW, keep=("memory",))  # a retract row too
    with services.engine.connect() as conn:
        revisions = conn.execute(
            select(db.revisions.c.agency_code).where(db.revisions.c.item_pk == accepted.item_pk)
        ).scalars()
        deliveries = conn.execute(
            select(db.deliveries.c.agency_code, db.deliveries.c.action).where(
                db.deliveries.c.item_pk == accepted.item_pk
            )
        ).all()
    assert set(revisions) == {item.agency.code}
    assert {code for code, _ in deliveries} == {item.agency.code}
    assert {action for _, action in deliveries} == {"publish", "retract"}
