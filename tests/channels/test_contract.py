"""Every built-in channel keeps the channel contract (:mod:`channels.testing`), on SQLite
and PostgreSQL, each built the way a worker builds it (``services.channel(name)``
through the installed plug-ins); the last tests make sure no installed kind is left out.

Two adaptations, each explained where it is made: the WeChat channel confirms
asynchronously (the suite asks again, as the runner does), and an archive package
records which deliveries it holds, so the archive setup hands out real delivery rows.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path

import feedparser
import pytest
from sqlalchemy import select

from channels.archive.verify import verify
from channels.testing import BatchContract, ChannelContract, ContractSetup, accept_item, installation
from channels.testing.batches import Installed
from channels.wechat.sandbox import SandboxServer, start
from channels.wechat.sandbox_account import Config
from pipeline import db
from pipeline.channel import DeliveryContext
from pipeline.model import Published
from pipeline.services import Services
from pipeline.urls import item_url
from tests.channels import notice_contract
from tests.channels.archive_support import receiver_options
from tests.channels.email.support import EmailContract
from tests.channels.website_helpers import cms_options, running_cms
from tests.channels.weibo.support import TestWeiboContract
from tests.conftest import fresh_pg_database


def setup(services: Services, name: str, copies: object, **wanted: bool) -> ContractSetup:
    return ContractSetup(
        channel=services.channel(name),
        services=services,
        item=lambda n, **c: accept_item(services, n, wanted=wanted, **c),
        copies=copies,  # type: ignore[arg-type]
    )


class TestMemoryContract(ChannelContract):
    kind = "memory"

    @pytest.fixture
    def contract(self, tmp_path: Path, db_url: str) -> Iterator[ContractSetup]:
        folder = tmp_path / "records"
        channels = {"memory": {"kind": "memory", "options": {"path": str(folder)}}}

        def copies(item: Published) -> int:
            """Records of this revision, none once the item is retracted."""
            if list(folder.glob(f"{item.source}~{item.id}~r*~retract.json")):
                return 0
            return len(list(folder.glob(f"{item.source}~{item.id}~r{item.revision}~*.json")))

        with installation(tmp_path, channels, database_url=db_url) as services:
            yield setup(services, "memory", copies)


def files_of(folder: Path) -> Callable[[], dict[str, bytes]]:
    """Every file a channel wrote under ``folder`` (its lock and health probe aside)."""

    def read() -> dict[str, bytes]:
        return {
            str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name not in (".lock", ".health")
        }

    return read


@contextmanager
def static_site(tmp_path: Path, db_url: str) -> Iterator[ContractSetup]:
    folder = tmp_path / "site"

    def copies(item: Published) -> int:
        """Entries of the item in the search index (one per listed item)."""
        column = folder / item.agency.code.lower()  # an agency's default path: its code
        shard = column / f"search/{item.generated_on.year}.json"
        entries = json.loads(shard.read_text()) if shard.exists() else []
        return sum(1 for e in entries if e["n"] == item.index_no)

    channels = {"website": {"kind": "website", "options": {"output_dir": str(folder)}}}
    with installation(tmp_path, channels, database_url=db_url) as services:
        contract = setup(services, "website", copies)
        contract.state = files_of(folder)
        yield contract


class TestStaticSiteContract(ChannelContract, BatchContract):
    kind = "website"

    @pytest.fixture
    def contract(self, tmp_path: Path, db_url: str) -> Iterator[ContractSetup]:
        with static_site(tmp_path, db_url) as contract:
            yield contract

    @pytest.fixture
    def installed(self, tmp_path: Path, db_url: str, request: pytest.FixtureRequest) -> Installed:
        return twins(tmp_path, db_url, request, static_site)


class TestCmsPushContract(ChannelContract):
    kind = "website"

    @pytest.fixture
    def contract(self, tmp_path: Path, db_url: str) -> Iterator[ContractSetup]:
        with running_cms() as (url, cms):
            channels = {"cms": {"kind": "website", "options": cms_options(url)}}
            with installation(tmp_path, channels, database_url=db_url) as services:
                yield setup(
                    services, "cms", lambda item: sum(1 for key in cms.documents if key == item.index_no)
                )


@contextmanager
def feeds(tmp_path: Path, db_url: str) -> Iterator[ContractSetup]:
    folder = tmp_path / "feeds"

    def copies(item: Published) -> int:
        """Entries of the item in both formats of the feed of every item, halved
        (no file yet: nothing was ever published)."""
        files = [folder / f"all.{fmt}" for fmt in ("rss", "atom")]
        found = [
            entry.id
            for path in files
            if path.exists()
            for entry in feedparser.parse(path.read_bytes()).entries
        ]
        return sum(1 for entry_id in found if entry_id.endswith(":" + item.index_no)) // 2

    channels = {"feed": {"kind": "feed", "options": {"output_dir": str(folder)}}}
    with installation(tmp_path, channels, database_url=db_url) as services:
        contract = setup(services, "feed", copies)
        contract.state = files_of(folder)
        yield contract


class TestFeedContract(ChannelContract, BatchContract):
    kind = "feed"

    @pytest.fixture
    def contract(self, tmp_path: Path, db_url: str) -> Iterator[ContractSetup]:
        with feeds(tmp_path, db_url) as contract:
            yield contract

    @pytest.fixture
    def installed(self, tmp_path: Path, db_url: str, request: pytest.FixtureRequest) -> Installed:
        return twins(tmp_path, db_url, request, feeds)


def twins(
    tmp_path: Path,
    db_url: str,
    request: pytest.FixtureRequest,
    build: Callable[[Path, str], AbstractContextManager[ContractSetup]],
) -> Installed:
    """Installations of one channel in folders of their own, each with a database of its
    own (the test's, then a fresh one of the same kind)."""
    urls = iter([db_url])

    @contextmanager
    def make(name: str) -> Iterator[ContractSetup]:
        url = next(urls, None)
        if url is None and db_url.startswith("sqlite"):
            url = f"sqlite:///{tmp_path / name / 'govpub.db'}"
        elif url is None:
            databases = fresh_pg_database()
            url = next(databases)
            request.addfinalizer(lambda: next(databases, None))
        (tmp_path / name).mkdir()
        with build(tmp_path / name, url) as contract:
            yield contract

    return make


@pytest.fixture
def wechat_sandbox() -> Iterator[SandboxServer]:
    """The WeChat API sandbox, publishing after 50 ms, with an appid of its own (tokens
    are keyed by appid, so checkouts running at once do not meet)."""
    server = start(config=Config(appid="wxcontract" + secrets.token_hex(4), publish_delay=0.05))
    yield server
    server.shutdown()
    server.server_close()


class TestWeChatContract(ChannelContract):
    """Publish mode. WeChat confirms a publication asynchronously: the suite asks again
    with the same delivery (``ContractSetup.settled``). Live copies are counted in the
    sandbox: articles whose 阅读原文 is the item's page and that were not deleted."""

    kind = "wechat"

    @pytest.fixture
    def contract(
        self, tmp_path: Path, db_url: str, wechat_sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
    ) -> Iterator[ContractSetup]:
        monkeypatch.setenv("GOVPUB_WECHAT_SECRET", "sandbox-secret")
        account = wechat_sandbox.account
        options = {"appid": account.config.appid, "api_base_url": wechat_sandbox.api_base_url}
        with installation(
            tmp_path, {"wechat": {"kind": "wechat", "options": options}}, database_url=db_url
        ) as services:

            def copies(item: Published) -> int:
                url = item_url(services.settings, item, agencies=services.registry)
                with account.lock:
                    return sum(
                        1
                        for art in account.articles.values()
                        for idx, article in enumerate(art["articles"], start=1)
                        if article.get("content_source_url") == url and idx not in art["deleted"]
                    )

            yield setup(services, "wechat", copies)


RECEIVER = "library"


@dataclass
class ArchiveContractSetup(ContractSetup):
    """Real delivery rows, made by the store as the pipeline makes them: ``item``
    accepts the item for the receiver, ``ctx`` hands out its newest delivery not handed
    out yet, ``retracted`` retracts as the intake does (archives keep records, so the
    retraction gets a delivery of its own)."""

    handed_out: set[int] = field(default_factory=set)

    def ctx(self, delivery_id: int | None = None, attempt: int = 1) -> DeliveryContext:
        return super().ctx(delivery_id or self._next_delivery(), attempt)

    def _next_delivery(self) -> int:
        with self.services.engine.connect() as conn:
            ids = conn.execute(
                select(db.deliveries.c.id)
                .where(db.deliveries.c.channel == RECEIVER)
                .order_by(db.deliveries.c.id)
            ).scalars()
            fresh = [i for i in ids if i not in self.handed_out]
        self.handed_out.add(fresh[-1])
        return int(fresh[-1])

    def retracted(self, item: Published, reason: str) -> None:
        self.services.store.retract(item.source, item.id, reason, keep={RECEIVER})


class TestPerItemArchiveContract(ChannelContract):
    """Monthly and weekly receivers are batched: ``test_archive.py`` covers them through
    ``publish_batch`` and the runner. Archives never remove anything (a retraction is a
    record), so copies are not observable."""

    kind = "archive"

    @pytest.fixture
    def contract(self, tmp_path: Path, db_url: str) -> Iterator[ContractSetup]:
        (tmp_path / "drop").mkdir()
        options = receiver_options(tmp_path / "drop", schedule="per-item")
        with installation(
            tmp_path, {RECEIVER: {"kind": "archive", "options": options}}, database_url=db_url
        ) as services:
            yield ArchiveContractSetup(
                channel=services.channel(RECEIVER),
                services=services,
                item=lambda n, **c: accept_item(services, n, wanted={RECEIVER: True}, **c),
                copies=lambda item: None,
            )

    def test_update_after_publish(self, contract: ContractSetup) -> None:
        item = contract.item(3)
        ref = contract.publish(item)
        newer = contract.item(3, revision=2, title=item.title + "（修订）")
        updated = contract.channel.update(newer, ref, contract.ctx())
        assert isinstance(updated, dict) and updated and updated != ref
        assert updated["package_id"].endswith("-r2")

    def test_every_package_verifies(self, contract: ContractSetup, tmp_path: Path) -> None:
        item = contract.item(6)
        contract.publish(item)
        contract.retracted(item, "内容有误")
        contract.channel.retract(item, None, "内容有误", contract.ctx())
        packages = sorted((tmp_path / "drop").iterdir())
        assert {p.name.rsplit("-", 1)[-1] for p in packages} == {"r1.tar", "retract.tar"}
        assert all(verify(p).ok for p in packages)


class TestEmailContract(EmailContract):
    """The e-mail channel (tests/channels/email/support.py): a newsroom address on the
    mail sandbox; a second publish of a delivery sends the same Message-ID at most once."""


CONTRACTS: list[type[ChannelContract]] = [
    TestMemoryContract,
    TestStaticSiteContract,
    TestCmsPushContract,
    TestFeedContract,
    TestWeChatContract,
    TestPerItemArchiveContract,
    notice_contract.TestNoticeContract,
    TestEmailContract,
    TestWeiboContract,
]


def test_every_installed_kind_keeps_the_contract() -> None:
    installed = {ep.name for ep in entry_points(group="govpub.channels")}
    covered = {getattr(suite, "kind", "") for suite in CONTRACTS}
    assert installed and installed <= covered, f"kinds without a contract suite here: {installed - covered}"
