"""``govpub sources add/bind/unbind/list/show``: sources bound to agencies, every
refusal clear and writing nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from click.testing import CliRunner, Result
from sqlalchemy import func, select

from pipeline import db
from pipeline.agencies import Agency, add, retire
from pipeline.cli.context import Installation
from pipeline.cli.main import main
from pipeline.services import Services
from tests.helpers import TEST_AGENCY

NOW = datetime(2026, 3, 2, tzinfo=UTC)
B, OLD = "11370303MB1234567X", "113703030000000055"


def run(services: Services, *args: str) -> Result:
    return CliRunner().invoke(main, ["sources", *args], obj=Installation(services=services))


def rows(services: Services) -> tuple[int, int]:
    with services.engine.connect() as conn:
        sources = conn.execute(select(func.count()).select_from(db.sources)).scalar_one()
        links = conn.execute(select(func.count()).select_from(db.source_agencies)).scalar_one()
    return sources, links


def test_add_bind_unbind_list_show(services: Services) -> None:
    add(services.engine, Agency(B, "和平街道"), NOW)
    add(services.engine, Agency(OLD, "已撤并单位"), NOW)
    retire(services.engine, OLD, NOW)
    services.registry.forget()

    several = run(services, "add", "oa")
    assert several.exit_code == 1 and "--agency CODE" in several.output and B in several.output
    for bad, says in (
        (["--agency", "NOPE000"], "no agency NOPE000"),
        (["--agency", OLD], f"{OLD} is retired"),
    ):
        refused = run(services, "add", "oa", "--agency", B, *bad)
        assert refused.exit_code == 1 and says in refused.output, refused.output
    assert rows(services) == (0, 0)  # nothing written

    made = run(services, "add", "oa", "--agency", TEST_AGENCY)
    assert made.exit_code == 0, made.output
    token = made.stdout.strip().splitlines()[-1]
    assert token.startswith("gp_") and f"bound to {TEST_AGENCY}" in made.output
    assert services.store.source_for_token(token) == "oa"

    assert run(services, "bind", "oa", "--agency", B).exit_code == 0
    assert "already" not in run(services, "bind", "oa", "--agency", B).output  # twice: no change
    (listed,) = json.loads(run(services, "list", "--json").output)
    assert listed["name"] == "oa" and listed["revoked_at"] is None and listed["items"] == 0
    assert sorted((a["code"], a["name"], a["retired"]) for a in listed["agencies"]) == sorted(
        [(TEST_AGENCY, "张店区教育局", False), (B, "和平街道", False)]
    )
    plain = run(services, "list").output
    assert "oa\t" in plain and "和平街道" in plain

    assert run(services, "bind", "oa", "--agency", OLD).exit_code == 1
    assert run(services, "bind", "nobody", "--agency", B).exit_code == 1
    unbound = run(services, "unbind", "oa", "--agency", B)
    assert unbound.exit_code == 0 and f"bound to {TEST_AGENCY}" in unbound.output
    shown = json.loads(run(services, "show", "oa").output)
    assert [a["code"] for a in shown["agencies"]] == [TEST_AGENCY]
    assert run(services, "show", "nobody").exit_code == 1

    rekeyed = run(services, "add", "oa")  # a new token; the bindings stay
    assert rekeyed.exit_code == 0 and "re-keyed" in rekeyed.output
    assert services.store.source_for_token(token) is None
    assert json.loads(run(services, "show", "oa").output)["agencies"][0]["code"] == TEST_AGENCY


def test_the_only_agency_is_the_default(services: Services) -> None:
    made = run(services, "add", "oa")
    assert made.exit_code == 0 and f"bound to {TEST_AGENCY}" in made.output
