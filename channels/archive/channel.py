"""The archive channel: one configured instance per receiver (档案馆, 图书馆).

A package holds one agency's items of one period: a receiver serving several agencies
(the district archive takes every agency's packages) makes one package per agency and
period. Whom it sends an agency's package to, and as whom, is the agency's options
(``ChannelEnv.options_for``: an overlay ``[agencies.CODE.channels.NAME]`` gives an
agency a receiver of its own; the instance's ``agencies`` list keeps a receiver to some
agencies); the schedule is the instance's.

Monthly and weekly receivers are batched: the runner hands over every due delivery
at once. A delivery whose period is still open answers ``NotDue`` until the period
closes (plus ``settle_seconds``). Once it is over, the package of that receiver,
agency and period is frozen (every delivery of the period and earlier that waits, so
deliveries the runner has not handed over yet are in it too), built, sent, and
every member answers the same reference: package id, the file's SHA-256 and the
receiver's receipt, only after the transport confirmed it. A delivery that comes
due after its period was exported goes into the next package. Per-item receivers
send one package per delivery, straight away.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from channels.archive import periods
from channels.archive.build import Recipe
from channels.archive.export import Exporter
from channels.archive.ledger import Ledger
from channels.archive.options import ArchiveOptions, check_options, parse_options
from channels.archive.periods import Period
from channels.archive.transports import make_transport
from pipeline import outbound
from pipeline.channel import BatchEntry, Channel, ChannelEnv, DeliveryContext, Health, Ref
from pipeline.errors import DeliveryError, NotDue, TransientError
from pipeline.model import Published
from pipeline.urls import item_url

Answer = Ref | Exception | None


class ArchiveChannel(Channel):
    kind = "archive"
    keeps_records = True  # an item retracted before its package still goes, with its retraction

    @classmethod
    def check_options(cls, name: str, options: dict[str, Any]) -> None:
        check_options(name, options)

    def __init__(self, name: str, options: dict[str, Any], env: ChannelEnv) -> None:
        super().__init__(name, options, env)
        self.config = parse_options(name, options)
        self.tz = ZoneInfo(env.settings.timezone)
        self.batched = self.config.schedule != "per-item"
        self.ledger = Ledger(env.engine, name)
        self._exporters: dict[str, Exporter] = {"": self._exporter(self.config, "")}

    @property
    def exporter(self) -> Exporter:
        """The instance's own receiver (the platform's, without overlays)."""
        return self._exporters[""]

    def exporter_for(self, agency: str | None) -> Exporter:
        """Where ``agency``'s packages go: its own receiver (an overlay), its parent's,
        or the instance's. An agency the instance no longer serves keeps the instance's
        (its packages frozen before still go somewhere an operator can see)."""
        resolved = self.env.options_for(self.name, agency) if agency else None
        if resolved is None or resolved.account == "":
            return self.exporter
        if resolved.account not in self._exporters:
            config = parse_options(self.name, resolved.options)
            self._exporters[resolved.account] = self._exporter(config, resolved.account)
        return self._exporters[resolved.account]

    def _exporter(self, config: ArchiveOptions, account: str) -> Exporter:
        settings = self.env.settings
        recipe = Recipe(
            ledger=self.ledger,
            source_organization=config.source_organization,
            organization_code=config.organization_code,
            packing=config.packing,
            tz=self.tz,
            site_name=settings.site_name,
            url_of=lambda item: item_url(settings, item, agencies=self.env.agencies),
        )
        folder = config.work_dir or Path(settings.data_dir) / "archive" / self.name
        if account and config.work_dir is None:
            folder = folder / account
        policy = outbound.Policy.from_settings(settings.outbound)
        transport = make_transport(config.transport, policy, self.env.clock)
        return Exporter(recipe, transport, folder)

    # -- batched receivers -------------------------------------------------------
    def publish_batch(self, entries: list[BatchEntry]) -> dict[int, Answer]:
        now = self.env.clock()
        ids = [e.ctx.delivery_id for e in entries]
        placed = self.ledger.packages_of(ids)
        answers = self._wait_or_freeze([i for i in ids if i not in placed], now)
        placed.update(self.ledger.packages_of([i for i in ids if i not in placed and i not in answers]))
        sent: dict[str, Answer] = {}
        for delivery_id in ids:
            if delivery_id in answers:
                continue
            package_id = placed.get(delivery_id)
            if package_id is None:
                answers[delivery_id] = TransientError("not placed in a package yet; trying again")
                continue
            if package_id not in sent:
                sent[package_id] = self._deliver(package_id, now)
            answers[delivery_id] = sent[package_id]
        return answers

    def _wait_or_freeze(self, loose: list[int], now: datetime) -> dict[int, Answer]:
        """Deliveries in no package yet: NotDue while their period is open, None when a
        newer revision replaces them; the packages of the periods that are over get
        frozen (and with them these deliveries)."""
        superseded = self.ledger.superseded(loose)
        placing = self.ledger.placing(loose)
        answers: dict[int, Answer] = {}
        closed: dict[tuple[str, str], Period] = {}
        exported: dict[tuple[str, str], bool] = {}
        for delivery_id in loose:
            if delivery_id in superseded:
                answers[delivery_id] = None
                continue
            moment, agency = placing[delivery_id]
            period = self.target_period(moment, agency, exported)
            ready = period.end + timedelta(seconds=self.config.settle_seconds)
            if now < ready:
                when = ready.astimezone(self.tz).strftime("%Y-%m-%d %H:%M")
                answers[delivery_id] = NotDue(f"goes in the {period.label} package, sent after {when}", ready)
            else:
                closed[(agency, period.label)] = period
        for (agency, label), period in closed.items():
            self.ledger.freeze(self.ledger.package_id(label, agency), period, now, agency)
        return answers

    def target_period(
        self, moment: datetime, agency: str, exported: dict[tuple[str, str], bool] | None = None
    ) -> Period:
        """The period of ``moment``, or the first later one whose package of ``agency``
        is not exported yet: a late delivery goes into the next package rather than being
        lost. ``exported`` remembers the answers within one batch."""
        known = {} if exported is None else exported
        schedule = self.config.schedule
        period = periods.containing(moment, schedule, self.tz)
        while True:
            key = (agency, period.label)
            if key not in known:
                known[key] = self.ledger.exported(agency, period.label)
            if not known[key]:
                return period
            period = periods.following(period, schedule, self.tz)

    # -- per-item receivers ------------------------------------------------------
    def publish(self, item: Published, ctx: DeliveryContext) -> Ref:
        return self._single(item, ctx, "")

    def update(self, item: Published, previous: Ref, ctx: DeliveryContext) -> Ref:
        return self._single(item, ctx, "")

    def retract(self, item: Published, previous: Ref | None, reason: str, ctx: DeliveryContext) -> Ref | None:
        return self._single(item, ctx, "-retract")

    def _single(self, item: Published, ctx: DeliveryContext, suffix: str) -> Ref:
        now = self.env.clock()
        delivery_id = ctx.delivery_id
        package_id = self.ledger.packages_of([delivery_id]).get(delivery_id)
        if package_id is None:
            label = f"{item.key}-r{item.revision}{suffix}"
            moment, agency = self.ledger.placing([delivery_id])[delivery_id]
            package = self.ledger.freeze(
                self.ledger.package_id(label), periods.single(label, moment), now, agency, only=delivery_id
            )
            if package is None:
                raise TransientError("the delivery is not waiting any more; nothing to package")
            package_id = package.package_id
        answer = self._deliver(package_id, now)
        if isinstance(answer, Exception):
            raise answer
        assert answer is not None
        return answer

    # -- both --------------------------------------------------------------------
    def _deliver(self, package_id: str, now: datetime) -> Answer:
        """The package's reference once the receiver confirmed it, else the error."""
        package = self.ledger.get(package_id)
        if package is None:
            return TransientError(f"package {package_id} vanished")
        if package.confirmed:
            return package.ref()
        try:
            return self.exporter_for(package.agency_code).deliver(package, now).ref()
        except DeliveryError as exc:
            return exc
        except Exception as exc:  # a bug or a full disk: retry like any failure, keep the cause
            error = TransientError(f"archive package {package_id}: {type(exc).__name__}: {exc}")
            error.__cause__ = exc
            return error

    def health(self) -> Health:
        """The instance's own receiver (agencies' own receivers answer in their packages)."""
        return self.exporter.transport.health()

    def overview_facts(self) -> dict[str, str]:
        """The receiver's last package, for the operator console's overview."""
        from channels.archive.ledger import packages

        last = packages(self.env.engine, receiver=self.name, limit=1)
        if not last:
            return {"最近归档包": "尚无"}
        pkg = last[0]
        state = "接收方已确认" if pkg.confirmed else ("已发送，待确认" if pkg.built_at else "已冻结，待发送")
        if pkg.last_error:
            state += f"；上次错误：{pkg.last_error}"
        return {
            "最近归档包": f"{pkg.package_id}（{pkg.period}，{pkg.item_count} 条信息，{state}）",
            "归档周期": self.config.schedule,
        }
