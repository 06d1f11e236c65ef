"""Export one monthly period of N items with attachments to an archive receiver and
report the time and the peak memory of the process that does it.

    python -m bench.archive_export [--items 10000] [--attachments 2] [--attachment-kb 48]
                                   [--packing tar] [--database sqlite|postgresql]

The items are accepted into a fresh database (SQLite file, or a fresh PostgreSQL
database) as March 2017; then a child process runs the archive channel through the
delivery runner on 2017-04-02 until every delivery is answered: freezing the
package, building it (pages, metadata, SHA-256/SHA-512/SM3 manifests), the directory
drop, and answering the remaining deliveries from the package record. The child's
peak resident memory (``ru_maxrss``) is read by the parent; ``govpub archive verify``
is timed on the result too.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

MARCH = datetime(2017, 3, 1, 2, 0, tzinfo=UTC)
APRIL_2 = datetime(2017, 4, 2, 2, 0, tzinfo=UTC)


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

    from pipeline.demo_run import demo_items
    from pipeline.model import ItemIn
    from pipeline.schema import upgrade
    from pipeline.services import build_services

    services = build_services(settings(root, database_url, packing))
    upgrade(services.engine)
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
        services.store.accept(ItemIn.model_validate(raw), services.wanted_channels(None), now=at)
    services.engine.dispose()
    return time.perf_counter() - started


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
    frozen = receiver.ledger.freeze(receiver.ledger.package_id("2017-03"), period, APRIL_2)
    assert frozen is not None
    froze = time.perf_counter()
    built = receiver.exporter.file_for(frozen, APRIL_2)
    made = time.perf_counter()
    package = receiver.exporter.deliver(built.package, APRIL_2)
    sent = time.perf_counter()
    export_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    batches = 0
    while run_batch(services, "district-archives") != "not-claimed":
        batches += 1
    answered = time.perf_counter()
    return {
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
    with tempfile.TemporaryDirectory(prefix="govpub-bench-archive-") as tmp:
        root = Path(tmp)
        with _database(args.database, root) as url:
            run(root, url, args)


def run(root: Path, url: str, args: argparse.Namespace) -> None:
    setup = populate(root, url, args.items, args.attachments, args.attachment_kb, args.packing)
    print(f"accepted {args.items} items with {args.attachments} × {args.attachment_kb} KB in {setup:.1f}s")
    child = [
        sys.executable,
        "-m",
        "bench.archive_export",
        "--packing",
        args.packing,
        "--child",
        str(root),
        url,
    ]
    started = time.perf_counter()
    out = subprocess.run(child, check=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    result = json.loads(out.strip().splitlines()[-1])
    from channels.archive.verify import verify

    package = root / "drop" / f"district-archives-2017-03.{args.packing}"
    started = time.perf_counter()
    report = verify(package)
    verify_seconds = time.perf_counter() - started
    print(json.dumps(result, ensure_ascii=False))
    print(
        f"export of {result['items_in_package']} items "
        f"({args.attachments} x {args.attachment_kb} KB attachments, "
        f"{result['package_bytes'] / 1e6:.0f} MB {args.packing}, {args.database}): "
        f"{result['export_seconds']}s (freeze {result['freeze_seconds']}s, build {result['build_seconds']}s, "
        f"directory drop {result['drop_seconds']}s), peak RSS {result['export_peak_rss_mb']} MB; "
        f"then the runner answered all {args.items} deliveries in {result['runner_seconds']}s; "
        f"child {wall:.0f}s wall, peak RSS {peak_mb:.0f} MB; verify {verify_seconds:.0f}s: "
        f"{'OK' if report.ok else report.text()}"
    )


class _database:
    """A SQLite file in the scratch folder, or a fresh PostgreSQL database."""

    def __init__(self, kind: str, root: Path) -> None:
        self.kind, self.root, self.name = kind, root, f"govpub_bench_archive_{os.getpid()}"

    def __enter__(self) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.root / 'govpub.db'}"
        from bench.infra import ensure_services

        ensure_services()
        self._admin("CREATE DATABASE")
        return f"postgresql+psycopg://postgres@127.0.0.1:5432/{self.name}"

    def __exit__(self, *exc: object) -> None:
        if self.kind == "postgresql":
            self._admin("DROP DATABASE IF EXISTS", " WITH (FORCE)")

    def _admin(self, verb: str, suffix: str = "") -> None:
        from sqlalchemy import create_engine, text

        admin = create_engine(
            "postgresql+psycopg://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.execute(text(f'{verb} "{self.name}"{suffix}'))
        admin.dispose()


if __name__ == "__main__":
    main()
