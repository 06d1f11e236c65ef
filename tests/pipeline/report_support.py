"""A year of delivery log written straight into the tables, for report tests.

Rows are what the store and the runner write (items, revisions, deliveries with
their final state, one event per attempt), buffered and inserted in a few
multi-row statements, so a year of hundreds of items costs milliseconds.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, insert

from pipeline import db, recount
from pipeline.config import ChannelConfig
from tests.helpers import register_agencies

SHANGHAI = ZoneInfo("Asia/Shanghai")
AGENCY = "113703030000000000"
CHANNELS = {
    "site": ChannelConfig(kind="website"),
    "wx": ChannelConfig(kind="wechat"),
    "dag": ChannelConfig(kind="archive"),
    "lib": ChannelConfig(kind="archive"),
}


def local(*args: int) -> datetime:
    """An instant given in Shanghai time."""
    return datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


class LogWriter:
    def __init__(self, engine: Engine, counters: bool = True) -> None:
        self.engine = engine
        self.counters = counters  # fill the counters from what it wrote (as the migration does)
        self.rows: dict[str, list[dict[str, Any]]] = {
            "items": [],
            "revisions": [],
            "deliveries": [],
            "events": [],
        }
        self.next = {"items": 1, "revisions": 1, "deliveries": 1, "events": 1}
        self.heads: dict[int, dict[str, Any]] = {}

    def _pk(self, table: str) -> int:
        pk = self.next[table]
        self.next[table] += 1
        return pk

    def item(
        self,
        *,
        category: str = "政策法规",
        subcategory: str | None = "招生考试",
        formed: date = date(2017, 3, 1),
        genre: str | None = None,
        validity: str | None = None,
        agency: str = AGENCY,
        accepted: datetime | None = None,
        title: str | None = None,
    ) -> int:
        pk = self._pk("items")
        accepted = accepted or local(formed.year, formed.month, formed.day, 9)
        head = {
            "pk": pk,
            "source": "oa",
            "item_id": f"i-{pk}",
            "index_no": f"{agency}/{formed.year}-{pk:05d}",
            "agency_code": agency,
            "latest_revision": 0,
            "created_at": accepted,
            "retracted_at": None,
            "retract_reason": None,
        }
        self.rows["items"].append(head)
        self.heads[pk] = head
        self.revise(
            pk,
            accepted,
            category=category,
            subcategory=subcategory,
            generated_on=formed,
            genre=genre,
            validity=validity,
            title=title or f"公开信息 {pk}",
        )
        return pk

    def revise(self, item_pk: int, accepted: datetime, **fields: Any) -> int:
        head = self.heads[item_pk]
        previous = next((r for r in reversed(self.rows["revisions"]) if r["item_pk"] == item_pk), {})
        head["latest_revision"] += 1
        revision = {
            "category": "政策法规",
            "subcategory": None,
            "genre": None,
            "validity": None,
            "generated_on": accepted.date(),
            "title": "",
            **{
                k: previous[k]
                for k in ("category", "subcategory", "genre", "validity", "generated_on", "title")
                if k in previous
            },
            **fields,
        }
        pk = self._pk("revisions")
        self.rows["revisions"].append(
            {
                "pk": pk,
                "item_pk": item_pk,
                "agency_code": head["agency_code"],
                "revision": head["latest_revision"],
                "body_hash": f"{item_pk}-{head['latest_revision']}",
                "accepted_at": accepted,
                "document": {"agency": {"name": "张店区教育局", "code": head["agency_code"]}},
                **revision,
            }
        )
        return head["latest_revision"]

    def deliver(
        self,
        item_pk: int,
        channel: str,
        at: datetime,
        *,
        revision: int = 1,
        outcomes: tuple[str, ...] = ("delivered",),
        state: str | None = None,
        action: str = "publish",
    ) -> int:
        """One delivery row with an event per attempt; it ends ``delivered`` at ``at``
        when the last outcome is ``delivered`` (or in ``state``)."""
        revision_pk = next(
            r["pk"] for r in self.rows["revisions"] if r["item_pk"] == item_pk and r["revision"] == revision
        )
        final = state or ("delivered" if outcomes[-1] == "delivered" else "dead")
        pk = self._pk("deliveries")
        self.rows["deliveries"].append(
            {
                "id": pk,
                "item_pk": item_pk,
                "agency_code": self.heads[item_pk]["agency_code"],
                "revision_pk": revision_pk,
                "revision": revision,
                "channel": channel,
                "kind": CHANNELS[channel].kind if channel in CHANNELS else channel,
                "action": action,
                "state": final,
                "attempts": len(outcomes),
                "claim_no": len(outcomes),
                "next_attempt_at": at,
                "created_at": at - timedelta(minutes=len(outcomes)),
                "updated_at": at,
                "delivered_at": at if final == "delivered" else None,
                "external_ref": {"url": f"https://example.gov.cn/{item_pk}"}
                if final == "delivered"
                else None,
            }
        )
        for n, outcome in enumerate(outcomes, 1):
            self.rows["events"].append(
                {
                    "id": self._pk("events"),
                    "delivery_id": pk,
                    "at": at - timedelta(minutes=len(outcomes) - n),
                    "attempt": n,
                    "worker": "test",
                    "outcome": outcome,
                }
            )
        return pk

    def retract(self, item_pk: int, at: datetime, reason: str) -> None:
        self.heads[item_pk].update(retracted_at=at, retract_reason=reason)

    def write(self) -> None:
        tables = [
            (db.items, "items"),
            (db.revisions, "revisions"),
            (db.deliveries, "deliveries"),
            (db.delivery_events, "events"),
        ]
        codes = {row["agency_code"] for row in self.rows["items"]}
        register_agencies(self.engine, {c: "张店区教育局" if c == AGENCY else f"单位{c}" for c in codes})
        with self.engine.begin() as conn:
            for table, key in tables:
                if self.rows[key]:
                    conn.execute(insert(table), self.rows[key])
                self.rows[key] = []
            if self.counters:
                recount.rewrite(conn)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# -- a year with known figures -------------------------------------------------------
OTHER_AGENCY = "999999999"
KNOWN_CATEGORIES = {
    ("政策法规", "招生考试"): 60,
    ("政策法规", "人事管理"): 40,
    ("规划计划", "基础教育"): 58,
    ("业务工作", "基础教育"): 70,
    ("业务工作", "财务管理"): 50,
    ("其他信息", "综合性业务"): 30,
}
WEBSITE_ITEMS, WECHAT_ITEMS, ARCHIVED_ITEMS, LIBRARY_ITEMS = 308, 153, 137, 60


class KnownYear:
    """2017 of agency AGENCY: 308 website items in 4 categories, 153 of them via WeChat,
    137 delivered to archives (all 137 to ``dag``, the first 60 also to ``lib``),
    written among deliveries that must not count: earlier and later years, revisions,
    dead and skipped rows, retraction deliveries, retries, another agency."""

    def __init__(self, writer: LogWriter, website: str = "site") -> None:
        self.w = writer
        self.website = website
        self.counted: list[int] = []
        self._counted_items()
        self._noise()
        writer.write()

    def _counted_items(self) -> None:
        w, i = self.w, 0
        for (category, subcategory), count in KNOWN_CATEGORIES.items():
            for _ in range(count):
                month, day = 1 + i % 12, 1 + i % 28
                pk = w.item(category=category, subcategory=subcategory, formed=date(2017, month, 1))
                at = local(2017, month, day, 10)
                if i == 0:
                    at = utc(2016, 12, 31, 16, 30)  # 2017-01-01 00:30 in Shanghai: a 2017 delivery
                elif i == 1:
                    at = local(2017, 12, 31, 23, 59)  # the last minute of 2017
                outcomes = ("retry", "retry", "delivered") if i % 10 == 3 else ("delivered",)
                if i % 10 == 7:
                    outcomes = ("lost", "delivered")  # the worker died; the task ran again
                w.deliver(pk, self.website, at, outcomes=outcomes)
                if i % 2 == 0 and i < 2 * WECHAT_ITEMS:
                    w.deliver(pk, "wx", at + timedelta(hours=1))
                if i < ARCHIVED_ITEMS:
                    w.deliver(pk, "dag", local(2017, 12, 31, 12))
                if i < LIBRARY_ITEMS:
                    w.deliver(pk, "lib", local(2017, 12, 20, 12))
                self.counted.append(pk)
                i += 1
        # A counted item revised and delivered again in the same year: still one item.
        again = self.counted[10]
        w.revise(again, local(2017, 11, 1, 9))
        w.deliver(again, self.website, local(2017, 11, 1, 10), revision=2)
        w.deliver(again, "wx", local(2017, 11, 1, 11), revision=2)
        # A counted item retracted in the year: it stays counted, and is listed.
        self.retracted = self.counted[20]
        w.retract(self.retracted, local(2017, 8, 1, 9), "内容有误")
        w.deliver(self.retracted, self.website, local(2017, 8, 1, 10), action="retract")
        w.deliver(self.retracted, "wx", local(2017, 8, 1, 10), action="retract")

    def _noise(self) -> None:
        w = self.w
        self.earlier: list[int] = []
        for n in range(5):  # on every channel in 2016, revised and redelivered in 2017
            pk = w.item(formed=date(2016, 5, 1), category="规划计划", subcategory="基础教育")
            for channel in (self.website, "wx", "dag"):
                w.deliver(pk, channel, local(2016, 6, 1 + n))
            w.revise(pk, local(2017, 3, 1, 9))
            for channel in (self.website, "wx", "dag"):
                w.deliver(pk, channel, local(2017, 3, 1, 10), revision=2)
            self.earlier.append(pk)
        self.retracted_earlier = self.earlier[0]
        w.retract(self.retracted_earlier, local(2017, 9, 1), "已过时效")
        self.next_year = w.item(formed=date(2017, 12, 20))
        w.deliver(self.next_year, self.website, utc(2017, 12, 31, 20))  # 2018-01-01 04:00 in Shanghai
        dead = w.item(formed=date(2017, 6, 1))
        w.deliver(dead, self.website, local(2017, 6, 2), outcomes=("retry",) * 7 + ("dead",))
        skipped = w.item(formed=date(2017, 6, 1))
        w.deliver(skipped, self.website, local(2017, 6, 2), outcomes=("skipped",), state="skipped")
        for _ in range(7):
            pk = w.item(agency=OTHER_AGENCY, formed=date(2017, 4, 1))
            w.deliver(pk, self.website, local(2017, 4, 2))
            w.deliver(pk, "wx", local(2017, 4, 2, 11))
