"""The notice channel: each item as a print-ready PDF in the folder of every board and
reading room of the instance (and on its print queue, where one is configured).

Idempotent per delivery: the file is named by the item (its 索引号 key), so a
redelivered task replaces the same file; a print job is remembered in the delivery's
progress (``ctx.checkpoint``) once lp accepted it, and a job that may have left before
the worker died is in doubt rather than printed twice. A retraction replaces the notice
with a 撤回 notice in every place that had it. Agencies: an overlay
``[agencies.CODE.channels.NAME.options]`` gives an agency places of its own."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from channels.notice import boards
from channels.notice.fonts import Font, find_font
from channels.notice.options import NoticeOptions, Place, parse_options
from channels.notice.printing import lp
from channels.notice.render import Posting, notice_pdf, withdrawal_pdf
from pipeline.channel import Channel, ChannelEnv, DeliveryContext, Health, Ref
from pipeline.errors import ConfigError, DeliveryError, InDoubt
from pipeline.model import Published
from pipeline.urls import item_url


class NoticeChannel(Channel):
    kind = "notice"

    @classmethod
    def check_options(cls, name: str, options: dict[str, Any]) -> None:
        opts = parse_options(name, options)
        find_font(name, opts.font, opts.font_index)
        if any(place.printer for place in opts.places.values()) and shutil.which(opts.lp_command) is None:
            raise ConfigError(
                f"channels.{name}.options.lp_command",
                opts.lp_command,
                "a place has a printer but lp is not found: install CUPS's client (cups-client) "
                "or set its path",
            )

    def __init__(self, name: str, options: dict[str, Any], env: ChannelEnv) -> None:
        super().__init__(name, options, env)
        self.opts = parse_options(name, options)
        self.tz = ZoneInfo(env.settings.timezone)

    def options_for(self, agency: str) -> NoticeOptions:
        """The instance's places, or those an agency overlay gives ``agency``."""
        resolved = self.env.options_for(self.name, agency)
        if resolved is None or resolved.account == "":
            return self.opts
        return parse_options(self.name, resolved.options)

    def font(self, opts: NoticeOptions) -> Font:
        return find_font(self.name, opts.font, opts.font_index)

    def publish(self, item: Published, ctx: DeliveryContext) -> Ref:
        opts = self.options_for(item.agency.code)
        url = item_url(self.env.settings, item, agencies=self.env.agencies)
        pdf = notice_pdf(item, url, self.font(opts), Posting(ctx.now.astimezone(self.tz)))
        jobs = self._put_up(item, opts, opts.places, pdf, "posted", ctx)
        return self._ref(item, opts.places, jobs, withdrawn=False)

    def retract(self, item: Published, previous: Ref | None, reason: str, ctx: DeliveryContext) -> Ref | None:
        opts = self.options_for(item.agency.code)
        held = {n: p for n, p in opts.places.items() if boards.record(p.folder, item.key) is not None}
        places = dict(opts.places) if previous is not None else held
        if not places:
            return None  # never posted anywhere: nothing to replace
        pdf = withdrawal_pdf(item, reason, self.font(opts), Posting(ctx.now.astimezone(self.tz)))
        jobs = self._put_up(item, opts, places, pdf, "withdrawn", ctx)
        return self._ref(item, places, jobs, withdrawn=True)

    def health(self) -> Health:
        try:
            self.font(self.opts)
        except ConfigError as exc:
            return Health(False, str(exc))
        for name, place in self.opts.places.items():
            folder = _existing(place.folder)
            if not os.access(folder, os.W_OK | os.X_OK):
                return Health(False, f"{name}: the folder {place.folder} cannot be written")
        printers = [p.printer for p in self.opts.places.values() if p.printer]
        if printers and shutil.which(self.opts.lp_command) is None:
            return Health(False, f"{self.opts.lp_command} not found (printers {', '.join(printers)})")
        return Health(True, f"{len(self.opts.places)} places writable, {len(printers)} printers")

    def _put_up(
        self,
        item: Published,
        opts: NoticeOptions,
        places: dict[str, Place],
        pdf: bytes,
        state: str,
        ctx: DeliveryContext,
    ) -> dict[str, str]:
        new = boards.Record(item.key, item.index_no, item.title, item.revision, state, ())
        jobs: dict[str, str] = dict(ctx.progress.get("print_jobs", {}))
        for name, place in places.items():
            held = boards.record(place.folder, item.key)
            if not _shows(held, new, place):  # a redelivery leaves what it posted as it is
                boards.post(place.folder, name, held, new, pdf, ctx.now)
            if place.printer:
                job_key = f"{name}:r{item.revision}:{state}"
                if job_key not in jobs:
                    jobs[job_key] = self._print(opts, name, place, item, state, job_key, ctx)
                    ctx.checkpoint(print_jobs=jobs, printing=None)
        return {k: v for k, v in jobs.items() if k.endswith(f":r{item.revision}:{state}")}

    def _print(
        self,
        opts: NoticeOptions,
        name: str,
        place: Place,
        item: Published,
        state: str,
        job_key: str,
        ctx: DeliveryContext,
    ) -> str:
        if ctx.progress.get("printing") == job_key:
            raise InDoubt(
                f"the print job of {item.index_no} on {place.printer} ({name}) may have been queued before "
                f"the worker stopped: check `lpstat -o {place.printer}`, then confirm or resubmit"
            )
        ctx.checkpoint(printing=job_key)  # from here a lost answer is in doubt, never printed twice
        title = f"{'撤回 ' if state == 'withdrawn' else ''}{item.index_no} {item.title}"
        try:
            return lp(
                opts.lp_command,
                str(place.printer),
                boards.pdf_path(place.folder, item.key),
                title,
                server=opts.cups_server,
                timeout=opts.print_timeout_seconds,
                channel=self.name,
            )
        except InDoubt:
            raise
        except DeliveryError:
            ctx.checkpoint(printing=None)  # lp refused: nothing was queued
            raise

    @staticmethod
    def _ref(item: Published, places: dict[str, Place], jobs: dict[str, str], *, withdrawn: bool) -> Ref:
        ref: dict[str, Any] = {
            "file": boards.pdf_path(Path(), item.key).name,
            "index_no": item.index_no,
            "revision": item.revision,
            "places": sorted(places),
        }
        if jobs:
            ref["print_jobs"] = {k.split(":", 1)[0]: v for k, v in sorted(jobs.items())}
        if withdrawn:
            ref["withdrawn"] = True
        return ref


def _shows(held: boards.Record | None, new: boards.Record, place: Place) -> bool:
    """Whether the place already shows this revision in this state (the PDF is written
    before the record, so a record that says so has its whole file)."""
    return (
        held is not None
        and (held.revision, held.state) == (new.revision, new.state)
        and boards.pdf_path(place.folder, new.key).is_file()
    )


def _existing(folder: Path) -> Path:
    """The folder, or its nearest existing parent (where it would be created)."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder
