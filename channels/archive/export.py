"""One receiver's exports: make sure a package's file exists with the recorded
checksum, send it, record the receipt. Used by the channel and by
``govpub archive export``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import structlog

from channels.archive.bag import file_sha256
from channels.archive.build import Recipe, build, file_name
from channels.archive.ledger import Package
from channels.archive.transports import Shipment, Transport

log = structlog.get_logger("govpub.archive")


@dataclass
class Built:
    package: Package
    path: Path
    sha256: str
    size: int
    same_as_recorded: bool  # False: this build differs from the first one (new software?)


class Exporter:
    def __init__(self, recipe: Recipe, transport: Transport, folder: Path) -> None:
        self.recipe = recipe
        self.ledger = recipe.ledger
        self.transport = transport
        self.folder = folder

    def file_for(self, package: Package, now: datetime, rebuild: bool = False) -> Built:
        """The package file: the cached one if its checksum is the recorded one, else
        built again from the frozen members (which gives the same bytes)."""
        cached = self.folder / file_name(package, self.recipe.packing)
        if not rebuild and package.sha256 and cached.is_file() and file_sha256(cached) == package.sha256:
            return Built(package, cached, package.sha256, cached.stat().st_size, True)
        path, sha256, size = build(package, self.recipe, self.folder)
        same = package.sha256 in (None, sha256)
        if not same:
            log.warning("rebuilt package differs", package=package.package_id, was=package.sha256, now=sha256)
        if not package.confirmed:
            self.ledger.record_built(package.package_id, path.name, sha256, size, now)
        return Built(self._reload(package), path, sha256, size, same)

    def deliver(self, package: Package, now: datetime) -> Package:
        """Send the package; return it with its receipt. Raises what the transport raised."""
        built = self.file_for(package, now)
        package = built.package
        shipment = Shipment(built.path, package.package_id, built.sha256, built.size)
        try:
            receipt = self.transport.send(shipment)
        except Exception as exc:
            self.ledger.record_error(package.package_id, f"{type(exc).__name__}: {exc}")
            raise
        self.ledger.record_confirmed(package.package_id, receipt, now)
        log.info("archive package delivered", package=package.package_id, receipt=receipt)
        return self._reload(package)

    def _reload(self, package: Package) -> Package:
        return self.ledger.get(package.package_id) or package
