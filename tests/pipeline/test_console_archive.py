"""The overview shows each archive receiver's last package, as the channel reports it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pipeline.overview import build_overview
from pipeline.runner import run_batch
from tests.channels.archive_support import APRIL_2, MARCH_10, accept, archive_services

__all__ = ["archive_services"]  # the fixture, used by name below


def test_the_overview_names_the_last_package_of_a_receiver(archive_services: Any) -> None:
    services = archive_services()

    def facts() -> dict[str, str]:
        return next(ch for ch in build_overview(services).channels if ch.name == "district").facts

    assert facts()["最近归档包"] == "尚无"
    for n in (1, 2):
        accept(services, n, MARCH_10 + timedelta(days=n))
    services.clock.now = APRIL_2
    assert run_batch(services, "district") == "batch of 2"
    assert facts()["最近归档包"] == "district-113703030000000000-2017-03（2017-03，2 条信息，接收方已确认）"
