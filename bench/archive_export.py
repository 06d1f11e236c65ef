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
    """The measured part, run in a child process."""
    from channels.archive.channel import ArchiveChannel
    from pipeline.runner import run_batch
    from pipeline.services import build_services

    services = build_services(settings(root, database_url, packing))
    services.clock = lambda: APRIL_2
    started = time.perf_counter()
    first = run_batch(services, "district-archives")
    first_batch = time.perf_counter() - started
    batches = 1
    while run_batch(services, "district-archives") != "not-claimed":
        batches += 1
    total = time.perf_counter() - started
    counts = services.store.counts()["district-archives"]
    receiver = services.channel("district-archives")
    assert isinstance(receiver, ArchiveChannel)
    package = receiver.ledger.get("district-archives-2017-03")
    assert package is not None
    return {
        "first_batch": first,
        "first_batch_seconds": round(first_batch, 2),
        "total_seconds": round(total, 2),
        "batches": batches,
        "states": counts,
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
        f"({result['package_bytes'] / 1e6:.0f} MB {args.packing}, "
        f"{args.database}): first batch (freeze + build + drop) {result['first_batch_seconds']}s, "
        f"all {args.items} deliveries answered in {result['total_seconds']}s ({result['batches']} batches); "
        f"child process {wall:.1f}s wall, peak RSS {peak_mb:.0f} MB; "
        f"verify {verify_seconds:.1f}s: {'OK' if report.ok else report.text()}"
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
