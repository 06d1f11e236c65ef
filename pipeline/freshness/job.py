"""Beat's look at freshness (and the embedded worker's): every ``check_seconds``, work
out what is watched (:mod:`~pipeline.freshness.watch`), record it, and send the
warnings not sent yet (:mod:`~pipeline.freshness.notify`)."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import structlog

from pipeline.freshness import notify, record, watch
from pipeline.outbound import FetchError, Policy
from pipeline.services import Services

log = structlog.get_logger("govpub.freshness")


class FreshnessJob:
    """A periodic job of :func:`pipeline.sweeper.run_forever`: cheap between looks."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.next_at = float("-inf")

    def __call__(self, services: Services) -> None:
        if self.clock() < self.next_at:
            return
        self.next_at = self.clock() + services.settings.freshness.check_seconds
        look(services)


def look(services: Services) -> list[watch.Watched]:
    """One look: record every watched row, then send what is new."""
    now = services.clock()
    found = watch.watched(services)
    record.save(services.engine, found, now)
    send(services)
    return found


def send(services: Services) -> None:
    """The warnings each configured destination has not had yet; a failure is logged and
    tried again at the next look."""
    settings, now = services.settings.freshness, services.clock()
    names = {a.code: a.name for a in services.registry.all()}
    if settings.webhook:
        url, policy = settings.webhook, Policy.from_settings(services.settings.outbound)
        _deliver(
            services, "webhook", lambda due: notify.post_webhook(url, policy, notify.payload(due, names, now))
        )
    if settings.email_to:
        tz = services.settings.timezone

        def mail(due: list[watch.Watched]) -> None:
            subject = f"栏目和账号更新提醒：{len(due)} 项即将超期或已超期"
            notify.send_email(settings, subject, notify.text(due, names, now, tz))

        _deliver(services, "email", mail)


def _deliver(services: Services, destination: str, send_one: Callable[[list[watch.Watched]], None]) -> None:
    due = record.unsent(services.engine, services.clock(), destination)
    if not due:
        return
    try:
        send_one([w for w, _ in due])
    except (OSError, httpx.HTTPError, FetchError) as exc:  # SMTP errors are OSErrors; next look retries
        log.warning("freshness warnings not sent", to=destination, error=f"{type(exc).__name__}: {exc}")
        return
    record.mark_sent(services.engine, destination, due)
    log.info("freshness warnings sent", to=destination, count=len(due))
