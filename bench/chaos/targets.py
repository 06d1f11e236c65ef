"""The channels of a chaos run, each with its faults and its own record of what it got.

A target's ``published()`` reads the receiving side (a sandbox's records, the
memory channel's folder), never govpub's delivery log: that log is what we check.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Target:
    name: str
    config: dict[str, Any]
    published: Callable[[], Counter[str]]
    faults: Callable[[], dict[str, Callable[[], None]]]

    @property
    def queue(self) -> str:
        return f"govpub.{self.name}"


def memory_target(root: Path, name: str) -> Target:
    folder = root / name
    control = root / f"{name}.control.json"

    def order(**orders: float) -> None:
        control.write_text(json.dumps(orders), encoding="utf-8")

    def published() -> Counter[str]:
        log = folder / "received.log"
        lines = log.read_text("utf-8").splitlines() if log.exists() else []
        return Counter(line.split("~")[1] for line in lines if line.endswith("~publish.json"))

    def faults() -> dict[str, Callable[[], None]]:
        return {
            f"{name} failing for 2 s": lambda: order(failing_until=time.time() + 2),
            f"{name} crawling for 3 s": lambda: order(slow_until=time.time() + 3, delay=1.5),
        }

    config = {"kind": "memory", "options": {"path": str(folder), "control": str(control)}}
    return Target(name=name, config=config, published=published, faults=faults)
