"""The feed channel through the pipeline: items submitted to the intake, delivered by the
embedded worker, read back with feedparser (the reference client) from ``govpub serve``'s
``/feeds/`` and from the static files."""

from __future__ import annotations

import base64
import html
import threading
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import feedparser
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select

from bench.bulk import load_published, template
from pipeline import bindings, db
from pipeline.cli.main import main
from pipeline.config import ChannelConfig, Settings
from pipeline.errors import ConfigError
from pipeline.model import Published
from pipeline.services import Services
from pipeline.states import ACTIVE_STATES
from pipeline.urls import attachment_url, item_url
from tests.helpers import ensure_agency, make_item, register_agencies, wait_until

FORMATS = ("rss", "atom")
SHANGHAI = ZoneInfo("Asia/Shanghai")
TYPES = {"rss": "application/rss+xml; charset=utf-8", "atom": "application/atom+xml; charset=utf-8"}
# Text that must come out exactly as it went in: CJK beyond the BMP, markup-like text,
# ampersands, full-width punctuation, an emoji.
TRICKY_TITLE = "关于𠀾𡈽学校<script>alert(1)</script>招生 & 收费的通知（2017）🙂"
TRICKY_SUMMARY = "“双减”政策落实情况；A&B <b>不加粗</b>，全文公开。"


@pytest.fixture
def feed_options() -> dict[str, Any]:
    return {"entries": 5}


@pytest.fixture
def settings(settings_for: Any, db_url: str, feed_options: dict[str, Any]) -> Settings:
    result: Settings = settings_for(
        database_url=db_url,
        embedded_workers=3,
        channels={"feed": ChannelConfig(kind="feed", options=feed_options)},
    )
    return result


class Feeds:
    """Submitting items and reading the feeds, for one test."""

    def __init__(self, api: TestClient, auth: dict[str, str], services: Services) -> None:
        self.api, self.auth, self.services = api, auth, services
        self.folder = Path(services.settings.data_dir) / "site" / "feeds"

    def submit(self, n: int | str, **changes: Any) -> str:
        answer = self.api.post("/v1/items", json=make_item(n, **changes), headers=self.auth)
        assert answer.status_code == 202, answer.text
        return str(answer.json()["index_no"])

    def retract(self, n: int | str, reason: str = "信息有误，撤回") -> None:
        answer = self.api.request(
            "DELETE", f"/v1/items/test/t-{n}", json={"reason": reason}, headers=self.auth
        )
        assert answer.status_code == 202, answer.text

    def settled(self, delivered: int) -> None:
        """Wait until ``delivered`` feed deliveries are delivered and none is under way."""

        def done() -> bool:
            states = self.services.store.counts().get("feed", {})
            busy = any(states.get(s) for s in ACTIVE_STATES)
            return not busy and states.get("delivered") == delivered

        wait_until(done, 60, f"{delivered} feed deliveries")

    def delivered(self, n: int | str) -> None:
        """Wait for one item's deliveries (cheaper than counting every delivery)."""

        def done() -> bool:
            body = self.api.get(f"/v1/items/test/t-{n}", headers=self.auth).json()
            return all(d["state"] == "delivered" for d in body["deliveries"])

        wait_until(done, 60, f"delivery of item {n}")

    def get(self, name: str, fmt: str, **headers: str) -> Any:
        return self.api.get(f"/feeds/{name}.{fmt}", headers=headers)

    def parsed(self, name: str, fmt: str) -> Any:
        answer = self.get(name, fmt)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == TYPES[fmt]
        assert answer.content == (self.folder / f"{name}.{fmt}").read_bytes(), "served = static file"
        feed = feedparser.parse(answer.content)
        assert not feed.bozo, feed.get("bozo_exception")
        return feed


@pytest.fixture
def feeds(api: TestClient, auth: dict[str, str], services: Services) -> Feeds:
    return Feeds(api, auth, services)


def pdf(name: str) -> dict[str, str]:
    return {
        "name": name,
        "media_type": "application/pdf",
        "content_base64": base64.b64encode(b"%PDF-1.4").decode(),
    }


def china(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).replace(microsecond=0).isoformat()


def times(services: Services, index_no: str) -> dict[str, datetime]:
    """The item's first acceptance, its latest revision's acceptance and its retraction."""
    with services.engine.connect() as conn:
        row = conn.execute(
            select(db.items.c.created_at, db.items.c.retracted_at, db.revisions.c.accepted_at)
            .join(db.revisions, db.revisions.c.item_pk == db.items.c.pk)
            .where(db.items.c.index_no == index_no)
            .order_by(db.revisions.c.revision.desc())
        ).first()
    assert row is not None
    return dict(row._mapping)


def stored_item(services: Services, index_no: str) -> Published:
    with services.engine.connect() as conn:
        doc = conn.execute(
            select(db.revisions.c.document)
            .join(db.items, db.items.c.pk == db.revisions.c.item_pk)
            .where(db.items.c.index_no == index_no)
            .order_by(db.revisions.c.revision.desc())
        ).first()
    assert doc is not None
    return Published.model_validate(doc.document)


def test_every_feed_parses_in_both_formats_and_chinese_text_survives(
    feeds: Feeds, services: Services
) -> None:
    tricky = feeds.submit(
        1,
        title=TRICKY_TITLE,
        summary=TRICKY_SUMMARY,
        keywords=["招生", "收费"],
        attachments=[pdf("实施方案.pdf")],
    )
    other = feeds.submit(2, category="规划计划", summary="")
    feeds.settled(2)
    item = stored_item(services, tricky)
    settings = services.settings
    for fmt in FORMATS:
        everything = feeds.parsed("all", fmt)
        # titles go out as escaped HTML, like summaries (see test_sanitising.py)
        assert [html.unescape(e.title) for e in everything.entries] == ["测试公开信息 2", TRICKY_TITLE]
        entry = everything.entries[1]
        assert entry.id == f"tag:127.0.0.1,2017:{tricky}"
        assert entry.link == item_url(settings, item, agencies=services.registry)
        assert html.unescape(entry.summary) == TRICKY_SUMMARY  # text, shown as written
        assert [t.term for t in entry.tags] == ["政策法规", "招生考试", "方案", "招生", "收费"]
        assert entry.author == "张店区教育局"
        enclosure = [link for link in entry.links if link.rel == "enclosure"]
        assert [e.href for e in enclosure] == [
            attachment_url(settings, item, 1, "实施方案.pdf", agencies=services.registry)
        ]
        assert "/01-%E5%AE%9E%E6%96%BD%E6%96%B9%E6%A1%88.pdf" in enclosure[0].href
        assert entry.published.endswith("+08:00" if fmt == "atom" else "+0800")
        assert everything.feed.language == "zh-CN"
        assert everything.feed.title == "政府信息公开"

        policy = feeds.parsed("category-政策法规", fmt)
        assert [e.id for e in policy.entries] == [entry.id]
        planning = feeds.parsed("category-规划计划", fmt)
        assert [e.id for e in planning.entries] == [f"tag:127.0.0.1,2017:{other}"]
        empty = feeds.parsed("category-其他信息", fmt)  # generated on first request
        assert empty.entries == []
    atom = feeds.get("all", "atom").text
    assert "&amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt;" in atom and "<script>" not in atom
    assert feeds.parsed("all", "atom").entries[1].updated.endswith("+08:00")


def test_entry_ids_stay_the_same_across_revisions(feeds: Feeds, services: Services) -> None:
    first = feeds.submit(1)
    feeds.submit(2)
    feeds.settled(2)
    before = {e.id: e for e in feeds.parsed("all", "atom").entries}
    feeds.submit(
        1, revision=2, title="测试公开信息 1（修订）", category="规划计划", body_html="<p>修订后的正文</p>"
    )
    feeds.settled(3)
    after = {e.id: e for e in feeds.parsed("all", "atom").entries}
    assert set(after) == set(before)
    changed = f"tag:127.0.0.1,2017:{first}"
    assert after[changed].title == "测试公开信息 1（修订）"
    assert after[changed].content[0].value == "<p>修订后的正文</p>"
    revised = times(services, first)
    assert after[changed].published == before[changed].published == china(revised["created_at"])
    assert after[changed].updated == china(revised["accepted_at"])  # revision 2's acceptance
    # its category changed: it left the old category's feed for the new one
    assert changed not in {e.id for e in feeds.parsed("category-政策法规", "atom").entries}
    assert [e.id for e in feeds.parsed("category-规划计划", "rss").entries] == [changed]
    assert feeds.parsed("all", "atom").feed.updated == after[changed].updated


def test_retracted_items_disappear(feeds: Feeds, services: Services) -> None:
    numbers = {n: feeds.submit(n) for n in (1, 2, 3)}
    feeds.settled(3)
    assert len(feeds.parsed("all", "atom").entries) == 3
    feeds.retract(2)
    feeds.settled(4)  # three publications and one retraction
    for name in ("all", "category-政策法规"):
        for fmt in FORMATS:
            titles = [e.title for e in feeds.parsed(name, fmt).entries]
            assert titles == ["测试公开信息 3", "测试公开信息 1"]
    retracted_at = times(services, numbers[2])["retracted_at"]
    assert feeds.parsed("all", "atom").feed.updated == china(retracted_at)  # the newest change


def test_conditional_get_answers_304_until_something_changes(feeds: Feeds) -> None:
    feeds.submit(1)
    feeds.settled(1)
    for fmt in FORMATS:
        first = feeds.get("all", fmt)
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        for headers in (
            {"if-none-match": etag},
            {"if-modified-since": modified},
            {"if-none-match": f"W/{etag}"},
        ):
            again = feeds.get("all", fmt, **headers)
            assert again.status_code == 304, headers
            assert again.headers["etag"] == etag and again.content == b""
        assert feeds.get("all", fmt, **{"if-none-match": '"other"'}).status_code == 200
        head = feeds.api.head(f"/feeds/all.{fmt}")
        assert head.status_code == 200 and head.headers["etag"] == etag
    feeds.api.app.state.services.channel("feed").rebuild()  # regenerating nothing new changes nothing
    tags = {fmt: feeds.get("all", fmt).headers["etag"] for fmt in FORMATS}
    assert all(feeds.get("all", fmt, **{"if-none-match": tags[fmt]}).status_code == 304 for fmt in FORMATS)
    feeds.submit(2)
    feeds.settled(2)
    for fmt in FORMATS:
        changed = feeds.get("all", fmt, **{"if-none-match": tags[fmt]})
        assert changed.status_code == 200 and changed.headers["etag"] != tags[fmt]


@pytest.mark.parametrize("feed_options", [{"entries": 50}])
def test_20000_items_the_feed_holds_exactly_the_newest_n_in_order(feeds: Feeds, services: Services) -> None:
    load_published(services.engine, template({**make_item(0), "source": "bulk"}), 20_000, "feed")
    newest = feeds.submit("newest")
    feeds.delivered("newest")
    for fmt in FORMATS:
        entries = feeds.parsed("all", fmt).entries
        assert len(entries) == 50
        assert entries[0].id.endswith(newest)
        assert [e.title for e in entries[1:]] == [
            f"测试公开信息 0（第{n}号）" for n in range(19_999, 19_950, -1)
        ]
        planning = feeds.parsed("category-规划计划", fmt).entries  # the bulk items take categories in turn
        assert [e.title for e in planning] == [
            f"测试公开信息 0（第{n}号）" for n in range(19_997, 19_797, -4)
        ]
    stamps = [e.published_parsed for e in feeds.parsed("all", "atom").entries]
    assert stamps == sorted(stamps, reverse=True)


@pytest.mark.parametrize("feed_options", [{"entries": 40}])
def test_concurrent_workers_neither_lose_entries_nor_corrupt_files(feeds: Feeds) -> None:
    seen: set[bytes] = set()  # every version of the file a reader could have fetched
    stop = threading.Event()
    path = feeds.folder / "all.atom"

    def read_while_writing() -> None:
        while not stop.is_set():
            if path.exists():
                seen.add(path.read_bytes())
            stop.wait(0.005)

    reader = threading.Thread(target=read_while_writing)
    reader.start()
    try:
        batch = {"items": [make_item(n) for n in range(30)]}
        answer = feeds.api.post("/v1/items:batch", json=batch, headers=feeds.auth)
        assert answer.status_code == 200 and all(a["status"] == 202 for a in answer.json())
        feeds.settled(30)
    finally:
        stop.set()
        reader.join()
    assert len(feeds.parsed("all", "atom").entries) == 30
    assert len(feeds.parsed("all", "rss").entries) == 30
    assert seen and not any(feedparser.parse(data).bozo for data in seen)


@pytest.mark.parametrize("feed_options", [{"agency_feeds": "auto"}])
def test_agency_feeds_appear_when_a_second_agency_publishes(feeds: Feeds) -> None:
    feeds.submit(1)
    feeds.settled(1)
    assert feeds.get("agency-113703030000000000", "atom").status_code == 404  # one agency: no need
    register_agencies(feeds.services.engine, {"113703030000000001": "张店区卫生健康局"})
    with feeds.services.engine.begin() as conn:
        bindings.bind(conn, "test", ["113703030000000001"])  # the source submits for it too
    feeds.submit(2, agency={"name": "张店区卫生健康局", "code": "113703030000000001"})
    feeds.settled(2)
    health = feeds.parsed("agency-113703030000000001", "atom")
    assert [e.title for e in health.entries] == ["测试公开信息 2"]
    assert health.feed.title == "政府信息公开 · 张店区卫生健康局"
    education = feeds.parsed("agency-113703030000000000", "rss")  # written on first request
    assert [e.title for e in education.entries] == ["测试公开信息 1"]


def test_agency_feeds_follow_the_registry(feeds: Feeds, services: Services) -> None:
    """Platform mode: every registered agency has its feed, named by its column path (its
    code and former paths name it too); a new agency's appears at once, a retired one's stays."""
    from pipeline.agencies import Agency, add, edit, retire

    now = datetime.now(SHANGHAI)
    add(services.engine, Agency("11370303004300000X", "张店区人民政府", kind="government", path="zdq"), now)
    ensure_agency(  # the tests' default registration (tests/conftest.py) may be there first
        services.engine, Agency("113703030000000000", "张店区教育局", parent="11370303004300000X", path="jyj")
    )
    services.registry.forget()
    feeds.submit(1)
    feeds.settled(1)
    education = feeds.parsed("agency-jyj", "atom")
    assert [e.title for e in education.entries] == ["测试公开信息 1"]
    assert education.feed.title == "政府信息公开 · 张店区教育局"
    by_code = feeds.get("agency-113703030000000000", "atom")  # the URL of before the registry
    assert by_code.status_code == 200 and by_code.content == feeds.get("agency-jyj", "atom").content
    district = feeds.parsed("agency-zdq", "rss")  # registered, nothing published yet: an empty feed
    assert district.entries == [] and district.feed.title == "政府信息公开 · 张店区人民政府"
    # a new agency: its feed is there without a configuration change
    add(
        services.engine,
        Agency("11370303MB0000001A", "马尚街道", parent="11370303004300000X", path="msjd"),
        now,
    )
    services.registry.forget()
    assert feeds.parsed("agency-msjd", "atom").entries == []
    assert feeds.get("agency-nope", "atom").status_code == 404
    # a column that moves: the feed follows, the old name still answers
    edit(services.engine, "113703030000000000", now, path="edu")
    services.registry.forget()
    feeds.submit(2)
    feeds.settled(2)
    moved = feeds.parsed("agency-edu", "atom")
    assert [e.title for e in moved.entries] == ["测试公开信息 2", "测试公开信息 1"]
    assert feeds.get("agency-jyj", "atom").content == feeds.get("agency-edu", "atom").content
    # retired: no new items, its feed stays
    retire(services.engine, "113703030000000000", now)
    services.registry.forget()
    assert [e.title for e in feeds.parsed("agency-edu", "rss").entries] == [
        "测试公开信息 2",
        "测试公开信息 1",
    ]
    rebuilt = services.channel("feed").rebuild()  # type: ignore[attr-defined]
    assert {"agency-zdq", "agency-edu", "agency-msjd"} <= set(rebuilt)


@pytest.mark.parametrize(
    "name", ["nope.atom", "all.html", "all", "category-不存在.rss", "agency-..%2F..%2Fetc.rss", ".lock"]
)
def test_unknown_feeds_are_404(feeds: Feeds, name: str) -> None:
    assert feeds.api.get(f"/feeds/{name}").status_code == 404


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"entries": 0}, "channels.feed.options.entries"),
        ({"agency_feeds": "sometimes"}, "channels.feed.options.agency_feeds"),
        ({"websub_hub": "hub.example.org"}, "channels.feed.options.websub_hub"),
        ({"entires": 5}, "channels.feed.options.entires"),
    ],
)
def test_bad_options_stop_start_up_naming_the_key(
    services: Services, options: dict[str, Any], key: str
) -> None:
    from channels.feed.channel import FeedChannel

    with pytest.raises(ConfigError) as caught:
        FeedChannel("feed", options, services.env)
    assert caught.value.key == key


def test_feeds_build_command_regenerates_every_feed(
    feeds: Feeds, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    feeds.submit(1)
    feeds.settled(1)
    (feeds.folder / "all.rss").unlink()
    monkeypatch.setenv("GOVPUB_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("GOVPUB_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("GOVPUB_CHANNELS", '{"feed": {"kind": "feed", "options": {"entries": 5}}}')
    result = CliRunner().invoke(main, ["feeds", "build"])
    assert result.exit_code == 0, result.output
    assert "5 feeds regenerated" in result.output  # all and the four default categories
    assert [e.title for e in feeds.parsed("all", "rss").entries] == ["测试公开信息 1"]


def test_an_item_retracted_while_its_publication_runs_is_not_shown(feeds: Feeds, services: Services) -> None:
    from pipeline.channel import DeliveryContext
    from pipeline.model import ItemIn

    channel = services.channel("feed")
    accepted = services.store.accept(ItemIn.model_validate({**make_item(1), "source": "test"}), {})
    item = stored_item(services, accepted.index_no)
    services.store.retract("test", "t-1", "撤回")  # before the worker got to it
    ref = channel.publish(
        item, DeliveryContext(delivery_id=1, attempt=1, channel="feed", now=item.accepted_at)
    )
    assert ref["entry_id"].endswith(accepted.index_no)
    assert feeds.parsed("all", "atom").entries == []
