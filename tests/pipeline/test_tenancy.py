"""Reach (whose items a source or a console user may see and act on) and option
overlays (which options serve an agency on a channel instance)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert, select

from pipeline import db, registry
from pipeline.agencies import Agency, Registry, add
from pipeline.config import AgencyConfig, ChannelConfig
from pipeline.console.tables import console_user_agencies, console_users
from pipeline.model import ItemIn
from pipeline.overlays import Resolved, resolve
from pipeline.services import Services
from pipeline.tenancy import OutOfReach, Reach, source_reach, user_reach
from tests.helpers import make_item

NOW = datetime(2026, 3, 2, tzinfo=UTC)
GOV, A, B, A_CHILD = "GOV000", "AAA111", "BBB222", "AAA333"


def register(services: Services) -> None:
    add(services.engine, Agency(GOV, "区政府", kind="government"), NOW)
    add(services.engine, Agency(A, "教育局", parent=GOV), NOW)
    add(services.engine, Agency(B, "街道", parent=GOV, kind="subdistrict"), NOW)
    add(services.engine, Agency(A_CHILD, "教育局下属", parent=A), NOW)


def accept(services: Services, code: str, n: int) -> int:
    item = ItemIn.model_validate({**make_item(n, agency={"code": code, "name": code}), "source": "s"})
    return services.store.accept(item, services.channels_for(code, None), now=NOW).item_pk


def test_reach_filters_reads_and_refuses_the_rest(services: Services) -> None:
    register(services)
    a_item, b_item = accept(services, A, 1), accept(services, B, 2)
    reach = Reach.of([A])
    assert reach.allows(A) and not reach.allows(B) and Reach.PLATFORM.allows(B)
    with services.engine.connect() as conn:
        seen = conn.execute(select(db.items.c.pk).where(reach.items_where())).scalars().all()
        assert seen == [a_item]
        everything = conn.execute(select(db.items.c.pk).where(Reach.PLATFORM.items_where())).scalars()
        assert set(everything) == {a_item, b_item}
        deliveries = conn.execute(select(db.deliveries.c.item_pk).where(reach.deliveries_where())).scalars()
        assert set(deliveries) == {a_item}
        assert reach.item(conn, a_item).pk == a_item
        b_delivery = conn.execute(
            select(db.deliveries.c.id).where(db.deliveries.c.item_pk == b_item)
        ).scalar()
        with pytest.raises(OutOfReach) as elsewhere:
            reach.item(conn, b_item)
        with pytest.raises(OutOfReach) as nowhere:
            reach.item(conn, 10**9)
        assert str(elsewhere.value) == str(nowhere.value).replace(str(10**9), str(b_item))  # no oracle
        with pytest.raises(OutOfReach):
            reach.delivery(conn, b_delivery)
        with pytest.raises(OutOfReach):
            reach.item_by_source_id(conn, "s", "t-2")
        assert reach.item_by_source_id(conn, "s", "t-1").pk == a_item
    assert Reach.of([A, B]).narrow(B) == Reach.of([B])
    assert reach.narrow(None) is reach
    with pytest.raises(OutOfReach):
        reach.narrow(B)
    assert Reach.PLATFORM.narrow(B).agencies == {B}


def test_source_and_user_reach(services: Services) -> None:
    register(services)
    services.store.add_source("edu", agencies=[])
    with services.engine.begin() as conn:
        conn.execute(insert(db.source_agencies).values(source="edu", agency_code=A))
        for name, role, platform in (
            ("op", "operator", False),
            ("au", "auditor", False),
            ("pa", "auditor", True),
        ):
            conn.execute(
                insert(console_users).values(
                    username=name, password_hash="x", role=role, platform=platform, created_at=NOW
                )
            )
        conn.execute(insert(console_user_agencies).values(username="op", agency_code=B))
        conn.execute(insert(console_user_agencies).values(username="au", agency_code=B))
        assert source_reach(conn, "edu") == Reach.of([A])
        assert source_reach(conn, "nobody") == Reach.of([])
        assert user_reach(conn, "op", "operator", False) == Reach.of([B], can_act=True)
        assert user_reach(conn, "au", "auditor", False) == Reach.of([B], can_act=False)
        assert user_reach(conn, "pa", "auditor", True) == Reach(None, can_act=False)
        assert user_reach(conn, "root", "admin", False) == Reach.PLATFORM


@pytest.fixture
def overlaid(services: Services) -> Iterator[tuple[Any, Registry]]:
    register(services)
    channels = {
        "memory": ChannelConfig(kind="memory", options={"delay_seconds": 0.5, "path": "/tmp/x"}),
        "own-receiver": ChannelConfig(kind="memory", agencies=[A], include_children=True),
    }
    agencies = {
        A: AgencyConfig(channels={"memory": {"delay_seconds": 2}}),
        A_CHILD: AgencyConfig(channels={"memory": {"use": "parent"}}),
        B: AgencyConfig(channels={"memory": {"use": "none"}}),
        GOV: AgencyConfig(channels={"memory": {"use": "platform"}}),
    }
    settings = services.settings.model_copy(update={"channels": channels, "agencies": agencies})
    yield settings, Registry(services.engine, refresh_seconds=0)


def test_overlays_resolve_own_parent_platform_none(overlaid: tuple[Any, Registry]) -> None:
    settings, agencies = overlaid
    own = Resolved(A, {"delay_seconds": 2, "path": "/tmp/x"}, A)
    assert resolve(settings, agencies, "memory", A) == own
    assert resolve(settings, agencies, "memory", A_CHILD) == own  # the parent's account
    assert resolve(settings, agencies, "memory", B) is None
    assert resolve(settings, agencies, "memory", GOV) == Resolved(
        "", {"delay_seconds": 0.5, "path": "/tmp/x"}, None
    )
    assert resolve(settings, agencies, "memory", "UNLISTED") == Resolved(
        "", settings.channels["memory"].options, None
    )
    # an instance for some agencies: them and (include_children) their descendants only
    assert resolve(settings, agencies, "own-receiver", A) is not None
    assert resolve(settings, agencies, "own-receiver", A_CHILD) is not None
    assert resolve(settings, agencies, "own-receiver", B) is None


def test_the_plugin_default_serves_agencies_without_an_overlay(
    overlaid: tuple[Any, Registry], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, agencies = overlaid
    assert resolve(settings, agencies, "memory", "UNLISTED") is not None  # memory's default: platform
    declared = registry.plugin("memory")
    monkeypatch.setattr(registry, "plugin", lambda kind: dataclasses.replace(declared, agency_default="none"))
    assert resolve(settings, agencies, "memory", "UNLISTED") is None
    assert resolve(settings, agencies, "memory", A) is not None  # its own overlay
    assert resolve(settings, agencies, "memory", GOV) is not None  # use = "platform"


def test_the_head_default_serves_only_the_head_of_the_tree(
    overlaid: tuple[Any, Registry], monkeypatch: pytest.MonkeyPatch
) -> None:
    """WeChat's default: the instance's own account is the district's; a department with no
    account of its own gets none, unless its overlay (or its parent's) says so."""
    settings, agencies = overlaid
    declared = registry.plugin("memory")
    monkeypatch.setattr(registry, "plugin", lambda kind: dataclasses.replace(declared, agency_default="head"))
    settings.agencies.pop(GOV)  # no overlay: the head gets the instance's own options
    platform = Resolved("", settings.channels["memory"].options, None)
    assert resolve(settings, agencies, "memory", GOV) == platform
    assert resolve(settings, agencies, "memory", "UNLISTED") == platform  # an installation of before
    settings.agencies.pop(A)
    settings.agencies.pop(A_CHILD)
    assert resolve(settings, agencies, "memory", A) is None  # a department without an account
    assert resolve(settings, agencies, "memory", A_CHILD) is None
    settings.agencies[A] = AgencyConfig(channels={"memory": {"use": "parent"}})
    assert resolve(settings, agencies, "memory", A) == platform  # its parent heads the tree
    assert resolve(settings, agencies, "memory", A_CHILD) is None  # no overlay, not a head
    settings.agencies[A_CHILD] = AgencyConfig(channels={"memory": {"use": "parent"}})
    assert resolve(settings, agencies, "memory", A_CHILD) == platform  # parent of parent
    # an instance for some agencies serves them with its own options (a per-agency account)
    assert resolve(settings, agencies, "own-receiver", A_CHILD) == Resolved("", {}, None)


def test_no_delivery_for_an_instance_that_does_not_serve_the_agency(services: Services) -> None:
    register(services)
    services.settings.channels["other"] = ChannelConfig(kind="memory")
    services.settings.agencies[B] = AgencyConfig(channels={"other": {"use": "none"}})
    assert services.channels_for(A, None) == {"memory": True, "other": True}
    assert services.channels_for(B, None) == {"memory": True}
    assert services.channels_for(B, ["other"]) == {"memory": False}
    assert services.env.options_for("other", B) is None
    assert services.env.options_for("other", A) == Resolved("", {}, None)
