"""索引号 serials: ``{agency_code}/{year}-{serial:05d}``, one counter row per agency and year.

A serial is taken inside the transaction that stores its item, under the counter row's
lock, so a refused or rolled-back item leaves no gap and two intakes never hand out the
same number. Numbers a source gave its items explicitly are stepped over once: the
counter moves past them. Both intake paths take serials here, one or many at a time, and
so hand out the same numbers.
"""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, select, update

from pipeline import db
from pipeline.db import insert_ignore
from pipeline.errors import ValidationFailed
from pipeline.model import ItemIn

MAX_SERIAL = 99999  # 索引号 serials have five digits
S = db.index_serials
# Built once: the intake runs them on every new item.
ADVANCE = (
    update(S)
    .where(S.c.agency_code == bindparam("code"), S.c.year == bindparam("series_year"))
    .values(last_serial=S.c.last_serial + bindparam("by"))
    .returning(S.c.last_serial)
)
HELD = select(db.items.c.index_no).where(db.items.c.index_no.in_(bindparam("numbers", expanding=True)))


def serial_key(index_no: str) -> tuple[str, int]:
    """``(agency code, year)`` of a 索引号 ``CODE/YYYY-NNNNN``: the serial row it belongs to."""
    code, _, rest = index_no.partition("/")
    return code, int(rest.split("-", 1)[0])


def lock_key(item: ItemIn) -> tuple[str, int]:
    """The serial row a new item locks: its explicit 索引号's, else its agency and year's."""
    return serial_key(item.index_no) if item.index_no else (item.agency.code, item.generated_on.year)


def take(conn: Connection, code: str, year: int, count: int = 1) -> list[str]:
    """The next ``count`` 索引号 of (agency, year) that no item holds, in order.

    One statement moves the counter by what is still needed and one looks for numbers
    already held; a held number is stepped over and one more is taken, as taking them one
    by one would. More than :data:`MAX_SERIAL` is refused (nothing is taken: the caller's
    transaction or savepoint rolls the counter back)."""
    numbers: list[str] = []
    while len(numbers) < count:
        need = count - len(numbers)
        last = _advance(conn, code, year, need)
        if last > MAX_SERIAL:
            raise ValidationFailed("index_no serials exhausted", [f"{code}/{year} has {MAX_SERIAL} items"])
        fresh = [f"{code}/{year}-{serial:05d}" for serial in range(last - need + 1, last + 1)]
        taken = set(conn.execute(HELD, {"numbers": fresh}).scalars())
        numbers += [n for n in fresh if n not in taken]
    return numbers


def _advance(conn: Connection, code: str, year: int, by: int) -> int:
    """Move the counter by ``by`` (creating its row at 0 the first time); its new value."""
    params = {"code": code, "series_year": year, "by": by}
    last = conn.execute(ADVANCE, params).scalar_one_or_none()
    if last is None:
        insert_ignore(conn, S, {"agency_code": code, "year": year, "last_serial": 0})
        last = conn.execute(ADVANCE, params).scalar_one()
    return int(last)


def lock(conn: Connection, code: str, year: int) -> None:
    """Hold (agency, year)'s counter row, so an explicit number and the allocator never
    race for the same 索引号: whichever comes second sees the first one's item."""
    insert_ignore(conn, S, {"agency_code": code, "year": year, "last_serial": 0})
    conn.execute(select(S.c.last_serial).where(S.c.agency_code == code, S.c.year == year).with_for_update())


def held(conn: Connection, index_no: str) -> bool:
    return conn.execute(select(db.items.c.pk).where(db.items.c.index_no == index_no)).first() is not None
