"""Whose items a caller may see and act on: one :class:`Reach` per source or console user.

Every route that serves a person or a source reads through its reach, so "another
agency's item" is one rule written once: out of reach is :class:`OutOfReach` (403 to a
source, the not-found page in the console), never "exists, but not yours". Commands run
on the database by whoever holds the configuration (``govpub db``, ``agencies``,
``users``) use :attr:`Reach.PLATFORM`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import Column, ColumnElement, Connection, Table, select, true

from pipeline import db
from pipeline.errors import Forbidden


class OutOfReach(Forbidden):
    code = "agency_not_bound"


@dataclass(frozen=True)
class Reach:
    """``agencies`` None: the whole platform; else the agency codes reached."""

    agencies: frozenset[str] | None
    can_act: bool = True
    PLATFORM: ClassVar[Reach]

    @classmethod
    def of(cls, codes: Iterable[str], can_act: bool = True) -> Reach:
        return cls(frozenset(codes), can_act)

    @property
    def platform(self) -> bool:
        return self.agencies is None

    def allows(self, code: str | None) -> bool:
        return self.agencies is None or code in self.agencies

    def where(self, column: Column[Any] | ColumnElement[Any]) -> ColumnElement[bool]:
        """A filter on any ``agency_code`` column: true for the platform."""
        if self.agencies is None:
            return true()
        return column.in_(sorted(self.agencies))

    def items_where(self, table: Table = db.items) -> ColumnElement[bool]:
        return self.where(table.c.agency_code)

    def deliveries_where(self) -> ColumnElement[bool]:
        return self.where(db.deliveries.c.agency_code)

    def narrow(self, code: str | None) -> Reach:
        """``?agency=CODE`` inside the reach; None leaves it as it is."""
        if code is None:
            return self
        if not self.allows(code):
            raise OutOfReach(f"agency {code} is not within reach")
        return Reach(frozenset({code}), self.can_act)

    def item(self, conn: Connection, item_pk: int) -> Any:
        """The items row, or OutOfReach whether it exists elsewhere or not at all."""
        return self._one(conn, select(db.items).where(db.items.c.pk == item_pk), f"item {item_pk}")

    def delivery(self, conn: Connection, delivery_id: int) -> Any:
        query = select(db.deliveries).where(db.deliveries.c.id == delivery_id)
        return self._one(conn, query, f"delivery {delivery_id}")

    def item_by_source_id(self, conn: Connection, source: str, item_id: str) -> Any:
        query = select(db.items).where(db.items.c.source == source, db.items.c.item_id == item_id)
        return self._one(conn, query, f"item {source}/{item_id}")

    def _one(self, conn: Connection, query: Any, what: str) -> Any:
        row = conn.execute(query).first()
        if row is None or not self.allows(row.agency_code):
            raise OutOfReach(f"no {what} within reach")
        return row


Reach.PLATFORM = Reach(None, True)


def source_reach(conn: Connection, source: str) -> Reach:
    """The agencies a source is bound to (it submits, reads and retracts only theirs)."""
    codes = conn.execute(
        select(db.source_agencies.c.agency_code).where(db.source_agencies.c.source == source)
    ).scalars()
    return Reach.of(codes)


def user_reach(conn: Connection, username: str, role: str, platform: bool) -> Reach:
    """An admin acts on every agency, a platform auditor reads every one; other users
    reach the agencies they are scoped to (operators act, auditors read)."""
    from pipeline.console.tables import console_user_agencies

    if role == "admin":
        return Reach.PLATFORM
    can_act = role == "operator"
    if role == "auditor" and platform:
        return Reach(None, False)
    codes = conn.execute(
        select(console_user_agencies.c.agency_code).where(console_user_agencies.c.username == username)
    ).scalars()
    return Reach.of(codes, can_act)
