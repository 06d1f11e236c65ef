"""A running platform for issue 18's tests: several agencies, one source bound to each,
``govpub serve`` and real Celery workers on Redis, as :class:`PlatformStack`.

    def test_something(platform_stack: PlatformStack) -> None:
        a, b = platform_stack.tenant("a"), platform_stack.tenant("b")
        answer = platform_stack.submit("a", platform_stack.item("a", 1))
        platform_stack.wait_settled()

The default stack (``platform_stack``): the district government ``GOV`` heading two
agencies, ``a`` (a department, column ``jyj``) and ``b`` (a sub-district, column
``hbjd``), sources ``src-a`` and ``src-b`` bound to one each, and one platform-wide
memory channel (its records under ``stack.folder("memory")``). ``platform_for(...)``
builds another: its own channels (TOML-shaped tables, as ``[channels.NAME]``), more
tenants, per-agency overlays (``agencies={code: {"channels": {...}}}``), settings,
and no workers (``workers=False``) for tests that only read.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from pipeline.localcluster import LocalCluster
from tests.helpers import make_item, wait_until

GOV = "11370303004300000X"
FAST = {
    "retry_base_seconds": 0.1,
    "retry_max_seconds": 0.5,
    "sweep_interval_seconds": 0.2,
    "requeue_after_seconds": 3.0,
    "lease_seconds": 10.0,
    "agencies_refresh_seconds": 0.0,
}


@dataclass(frozen=True)
class Tenant:
    """One agency of the stack and the source bound to it (token in clear)."""

    key: str
    code: str
    name: str
    kind: str
    path: str
    source: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


DEFAULT_TENANTS: dict[str, dict[str, str]] = {
    "a": {"code": "113703030000000000", "name": "张店区教育局", "kind": "department", "path": "jyj"},
    "b": {
        "code": "11370303MB1234567X",
        "name": "张店区和平街道办事处",
        "kind": "subdistrict",
        "path": "hbjd",
    },
}


@dataclass
class PlatformStack:
    cluster: LocalCluster
    url: str
    tenants: dict[str, Tenant]
    http: httpx.Client
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def services(self) -> Any:
        """The installation's services in this process (its database, its registry)."""
        return self.cluster.services

    def tenant(self, key: str) -> Tenant:
        return self.tenants[key]

    def folder(self, channel: str) -> Path:
        """Where a memory channel of the stack writes its records."""
        return Path(self.channels[channel]["options"]["path"])

    def item(self, key: str, n: int | str, **changes: Any) -> dict[str, Any]:
        """A complete, approved item of tenant ``key``'s agency (id ``{key}-{n}``; its
        title names the agency, so a leak is easy to spot)."""
        tenant = self.tenants[key]
        changes.setdefault("agency", {"code": tenant.code, "name": tenant.name})
        changes.setdefault("title", f"{tenant.name}公开信息 {n}")
        changes.setdefault("id", f"{key}-{n}")
        return make_item(n, **changes)

    def submit(self, key: str, *items: dict[str, Any]) -> list[dict[str, Any]]:
        """Items through ``POST /v1/items:batch`` with tenant ``key``'s token: the answers."""
        return self.submit_as(self.tenants[key].auth, *items)

    def submit_as(self, auth: dict[str, str], *items: dict[str, Any]) -> list[dict[str, Any]]:
        answer = self.http.post("/v1/items:batch", json={"items": list(items)}, headers=auth)
        assert answer.status_code == 200, answer.text
        result: list[dict[str, Any]] = answer.json()
        return result

    def received(self, channel: str = "memory") -> list[str]:
        """The records a memory channel wrote (``source~id~rN~action.json``), in order."""
        log = self.folder(channel) / "received.log"
        return log.read_text("utf-8").splitlines() if log.exists() else []

    def wait_settled(self, timeout: float = 60) -> dict[str, dict[str, int]]:
        """Until no delivery is on its way (what ``govpub demo`` waits for): the counts."""
        from pipeline.states import ACTIVE_STATES

        def settled() -> dict[str, dict[str, int]] | None:
            counts = self.services.store.counts()
            busy = sum(n for states in counts.values() for s, n in states.items() if s in ACTIVE_STATES)
            return counts if counts and not busy else None

        return wait_until(settled, timeout, "every delivery settled")


def build_stack(
    root: Path,
    database_url: str,
    broker_url: str,
    *,
    tenants: dict[str, dict[str, str]] | None = None,
    channels: dict[str, dict[str, Any]] | None = None,
    agencies: dict[str, dict[str, Any]] | None = None,
    workers: bool = True,
    **settings: Any,
) -> PlatformStack:
    """The agencies declared in govpub.toml (the district heads them), one source per
    tenant bound to its agency, ``govpub serve`` and (``workers``) one Celery worker
    for every channel's queue."""
    tenants = copy.deepcopy(tenants or DEFAULT_TENANTS)
    channels = channels or {"memory": {"kind": "memory", "options": {"path": str(root / "memory")}}}
    declared: dict[str, dict[str, Any]] = {
        GOV: {"name": "张店区人民政府", "kind": "government", "path": "zdq"}
    }
    for spec in tenants.values():
        declared[spec["code"]] = {
            "name": spec["name"], "kind": spec.get("kind", "department"), "parent": GOV, "path": spec["path"]
        }  # fmt: skip
    for code, extra in (agencies or {}).items():
        declared[code] = {**declared.get(code, {}), **extra}
    cluster = LocalCluster.create(
        root, database_url, broker_url, channels, **{**FAST, **settings, "agencies": declared}
    )
    try:
        made = {
            key: Tenant(
                key, spec["code"], spec["name"], spec.get("kind", "department"), spec["path"],
                f"src-{key}", cluster.services.store.add_source(f"src-{key}", [spec["code"]]),
            )
            for key, spec in tenants.items()
        }  # fmt: skip
        _, url = cluster.serve()
        if workers:
            cluster.worker(",".join(f"govpub.{name}" for name in channels), concurrency=2)
    except BaseException:
        cluster.stop()
        raise
    return PlatformStack(cluster, url, made, httpx.Client(base_url=url, timeout=60), channels)
