"""Export one monthly period of N items with attachments to an archive receiver and
report the time and the peak memory of the process that does it.

    python -m bench.archive_export [--items 10000] [--attachments 2] [--attachment-kb 48]
                                   [--packing tar|zip] [--database sqlite|postgresql]

The items (random attachment bytes, so nothing deduplicates) are accepted into a
fresh database as March 2017. A child process then, on 2017-04-02, freezes the
package, builds it (pages, DA/T 48 metadata, SHA-256/SHA-512/SM3 manifests, tar),
drops it into a folder (copy, fsync, rename) and reports those times and its own
peak RSS (VmHWM); then the delivery runner answers every delivery from the
package record, as the channel does in production. ``govpub archive verify`` is
timed on the result. Also section 8 of ``python -m bench``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

MARCH = datetime(2017, 3, 1, 2, 0, tzinfo=UTC)
APRIL_2 = datetime(2017, 4, 2, 2, 0, tzinfo=UTC)
AGENCY = "113703030000000000"  # the demo items' agency, which every bench item keeps


def settings(root: Path, database_url: str, packing: str) -> Any:
    from pipeline.config import ChannelConfig, Settings

    options = {
        "source_organization": "张店区教育局",
        "settle_seconds": 0,
        "packing": packing,
        "transport": {"kind": "directory", "path": str(root / "drop")},
    }
    return Settings(
        data_dir=root / "data",
        database_url=database_url,
        channels={"district-archives": ChannelConfig(kind="archive", options=options)},
    )


def populate(root: Path, database_url: str, items: int, attachments: int, kb: int, packing: str) -> float:
    import base64

    from bench.infra import register_demo_agency
    from pipeline.demo_run import demo_items
    from pipeline.model import ItemIn
    from pipeline.schema import upgrade
    from pipeline.services import build_services

    services = build_services(settings(root, database_url, packing))
    upgrade(services.engine)
    register_demo_agency(services.engine)
    base = demo_items()[0]
    body = "<p>" + "根据有关规定，现将招生指标分配方案公布如下。" * 40 + "</p>"
    started = time.perf_counter()
    for n in range(items):
        files = [
            {
                "name": f"附件{k}.pdf",
                "media_type": "application/pdf",
                "content_base64": base64.b64encode(os.urandom(kb * 1024)).decode(),
            }
            for k in range(1, attachments + 1)
        ]
        raw = {**base, "source": "bench", "id": f"b-{n}", "title": f"基准测试 {n}", "body_html": body}
        raw["attachments"] = files
        at = MARCH + timedelta(minutes=4 * n % (29 * 24 * 60))
        item = ItemIn.model_validate(raw)
        services.store.accept(item, services.channels_for(item.agency.code, None), now=at)
    services.engine.dispose()
    return time.perf_counter() - started


def own_peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM). Not ``ru_maxrss``: Linux carries that across
    ``exec`` from the parent, so a child of a big ``python -m bench`` would report the
    parent's peak as its own."""
    from bench.measure import peak_rss_mb

    return peak_rss_mb(os.getpid())


def export(root: Path, database_url: str, packing: str) -> dict[str, Any]:
    """The measured part, run in a child process: the export proper (freeze, build,
    directory drop), then the runner answering every delivery from the package."""
    from channels.archive.channel import ArchiveChannel
    from channels.archive.periods import parse
    from pipeline.runner import run_batch
    from pipeline.services import build_services

    services = build_services(settings(root, database_url, packing))
    services.clock = lambda: APRIL_2
    receiver = services.channel("district-archives")
    assert isinstance(receiver, ArchiveChannel)
    period = parse("2017-03", "monthly", receiver.tz)
    started = time.perf_counter()
    frozen = receiver.ledger.freeze(receiver.ledger.package_id("2017-03", AGENCY), period, APRIL_2, AGENCY)
    assert frozen is not None
    froze = time.perf_counter()
    built = receiver.exporter.file_for(frozen, APRIL_2)
    made = time.perf_counter()
    package = receiver.exporter.deliver(built.package, APRIL_2)
    sent = time.perf_counter()
    export_rss_mb = own_peak_rss_mb()
    batches = 0
    while run_batch(services, "district-archives") != "not-claimed":
        batches += 1
    answered = time.perf_counter()
    return {
        "peak_rss_mb": own_peak_rss_mb(),
        "freeze_seconds": round(froze - started, 1),
        "build_seconds": round(made - froze, 1),
        "drop_seconds": round(sent - made, 1),
        "export_seconds": round(sent - started, 1),
        "export_peak_rss_mb": round(export_rss_mb),
        "runner_seconds": round(answered - sent, 1),
        "batches": batches,
        "states": services.store.counts()["district-archives"],
        "items_in_package": package.item_count,
        "package_bytes": package.size,
        "sha256": package.sha256,
    }


def measure(
    items: int, attachments: int = 2, kb: int = 48, packing: str = "tar", database: str = "sqlite"
) -> dict[str, Any]:
    """Populate, export in a child process, verify; every figure in one dict."""
    with tempfile.TemporaryDirectory(prefix="govpub-bench-archive-") as tmp:
        root = Path(tmp)
        with _database(database, root) as url:
            setup = populate(root, url, items, attachments, kb, packing)
            child = [
                sys.executable,
                "-m",
                "bench.archive_export",
                "--packing",
                packing,
                "--child",
                str(root),
                url,
            ]
            started = time.perf_counter()
            out = subprocess.run(child, check=True, capture_output=True, text=True).stdout
            result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
            result["child_seconds"] = round(time.perf_counter() - started, 1)
            result["child_peak_rss_mb"] = round(result.pop("peak_rss_mb"))
            from channels.archive.verify import verify

            started = time.perf_counter()
            report = verify(root / "drop" / f"district-archives-{AGENCY}-2017-03.{packing}")
            result.update(
                populate_seconds=round(setup, 1),
                verify_seconds=round(time.perf_counter() - started, 1),
                verified=report.ok,
            )
    return result


def figures(quick: bool) -> list[tuple[str, str, float, str, str]]:
    """Rows for ``python -m bench``."""
    items = 50 if quick else 10_000
    r = measure(items)
    note = f"{items} items, 2 x 48 KB attachments each, {r['package_bytes'] / 1e6:.0f} MB tar, SQLite"
    return [
        ("8 archive", "export one period (freeze, build, drop)", r["export_seconds"], "s", note),
        ("8 archive", "peak RSS of the exporting process", r["export_peak_rss_mb"], "MiB", note),
        ("8 archive", "runner answers every delivery", r["runner_seconds"], "s", note),
        ("8 archive", "govpub archive verify", r["verify_seconds"], "s", "OK" if r["verified"] else "FAILED"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--attachments", type=int, default=2)
    parser.add_argument("--attachment-kb", type=int, default=48)
    parser.add_argument("--packing", choices=["tar", "zip"], default="tar")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--child", nargs=2, metavar=("ROOT", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(export(Path(args.child[0]), args.child[1], args.packing)))
        return
    r = measure(args.items, args.attachments, args.attachment_kb, args.packing, args.database)
    print(json.dumps(r, ensure_ascii=False))
    print(
        f"accepted {args.items} items ({args.attachments} x {args.attachment_kb} KB attachments) "
        f"in {r['populate_seconds']}s; export of {r['items_in_package']} items "
        f"({r['package_bytes'] / 1e6:.0f} MB {args.packing}, {args.database}): {r['export_seconds']}s "
        f"(freeze {r['freeze_seconds']}s, build {r['build_seconds']}s, directory drop {r['drop_seconds']}s), "
        f"peak RSS {r['export_peak_rss_mb']} MiB; then the runner answered all {args.items} deliveries "
        f"in {r['runner_seconds']}s (child peak RSS {r['child_peak_rss_mb']} MiB); "
        f"verify {r['verify_seconds']}s: {'OK' if r['verified'] else 'FAILED'}"
    )


class _database:
    """A SQLite file in the scratch folder, or a fresh PostgreSQL database."""

    def __init__(self, kind: str, root: Path) -> None:
        self.kind, self.root, self.name = kind, root, f"govpub_bench_archive_{os.getpid()}"

    def __enter__(self) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.root / 'govpub.db'}"
        from bench.infra import ensure_services, pg_database

        ensure_services()
        self._admin("CREATE DATABASE")
        return pg_database(self.name)

    def __exit__(self, *exc: object) -> None:
        if self.kind == "postgresql":
            self._admin("DROP DATABASE IF EXISTS", " WITH (FORCE)")

    def _admin(self, verb: str, suffix: str = "") -> None:
        from sqlalchemy import create_engine, text

        from bench.infra import PG_ADMIN

        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'{verb} "{self.name}"{suffix}'))
        admin.dispose()


if __name__ == "__main__":
    main()
