"""The memory channel: records what it was given, for tests and the demo.

It keeps its records as files in one folder (``options.path``, default
``{data_dir}/memory-channel``) so that worker processes, the test that checks
them and ``govpub demo`` all see the same thing. Each record is keyed by the item,
revision and action, and written once: a redelivered task finds the record and
answers the same reference, which is the idempotency every channel must have.
``received.log`` gets one line per record written, so a test can count them.

Options for tests: ``delay_seconds`` (a slow channel), ``fail_first_attempts``
(transient failures before success), ``fail_permanently`` (always refuse), ``control``
(a JSON file that turns failures and slowness on and off while workers run).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from channels.kit.files import atomic_writer
from pipeline.channel import Channel, ChannelEnv, DeliveryContext, Ref
from pipeline.config import channel_options
from pipeline.errors import PermanentError, TransientError
from pipeline.model import Published


class MemoryOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: Path | None = None
    delay_seconds: float = Field(default=0.0, ge=0)
    fail_first_attempts: int = Field(default=0, ge=0)
    fail_permanently: bool = False
    control: Path | None = None


class MemoryChannel(Channel):
    kind = "memory"

    @classmethod
    def check_options(cls, name: str, options: dict[str, Any]) -> None:
        channel_options(MemoryOptions, name, options)

    def __init__(self, name: str, options: dict[str, Any], env: ChannelEnv) -> None:
        super().__init__(name, options, env)
        default = Path(env.settings.data_dir) / f"{name}-channel"
        self.folder = Path(options.get("path") or default)
        self.folder.mkdir(parents=True, exist_ok=True)

    def publish(self, item: Published, ctx: DeliveryContext) -> Ref:
        return self._record(item, "publish", ctx, {})

    def update(self, item: Published, previous: Ref, ctx: DeliveryContext) -> Ref:
        return self._record(item, "update", ctx, {"previous": previous})

    def retract(self, item: Published, previous: Ref | None, reason: str, ctx: DeliveryContext) -> Ref | None:
        if previous is None:
            return None
        return self._record(item, "retract", ctx, {"reason": reason})

    def _record(self, item: Published, action: str, ctx: DeliveryContext, extra: dict[str, Any]) -> Ref:
        self._misbehave(ctx)
        path = self.folder / f"{item.source}~{item.id}~r{item.revision}~{action}.json"
        ref = {"record": path.name, "index_no": item.index_no}
        if path.exists():
            return ref
        record = {
            "action": action,
            "delivery_id": ctx.delivery_id,
            **extra,
            "item": item.model_dump(mode="json"),
        }
        try:
            with atomic_writer(path, replace=False) as out:  # written once, even across processes
                out.write(json.dumps(record, ensure_ascii=False).encode())
        except FileExistsError:
            return ref
        with open(self.folder / "received.log", "a", encoding="utf-8") as log:
            log.write(path.name + "\n")
        return ref

    def _misbehave(self, ctx: DeliveryContext) -> None:
        self._obey_control_file()
        if self.options.get("fail_permanently"):
            raise PermanentError("memory channel configured to refuse everything")
        if ctx.attempt <= int(self.options.get("fail_first_attempts", 0)):
            raise TransientError(f"memory channel: configured failure on attempt {ctx.attempt}")
        delay = float(self.options.get("delay_seconds", 0))
        if delay:
            time.sleep(delay)

    def _obey_control_file(self) -> None:
        """``options.control``: a JSON file that a test rewrites while workers run, e.g.
        ``{"failing_until": <epoch>, "slow_until": <epoch>, "delay": 2}``."""
        control = self.options.get("control")
        if not control or not Path(control).exists():
            return
        orders = json.loads(Path(control).read_text("utf-8") or "{}")
        now = time.time()
        if now < float(orders.get("failing_until", 0)):
            raise TransientError("memory channel: failing on order of the control file")
        if now < float(orders.get("slow_until", 0)):
            time.sleep(float(orders.get("delay", 1.0)))

    def records(self) -> list[dict[str, Any]]:
        """Everything recorded so far (for tests and the demo)."""
        return [json.loads(p.read_text("utf-8")) for p in sorted(self.folder.glob("*.json"))]
