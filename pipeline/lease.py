"""The heartbeat that keeps a running delivery's claim alive.

A claim is a short lease (``lease_seconds``, 30 s by default): a worker that dies
mid-delivery stops renewing it, so its delivery is claimable again about one lease
later and the sweeper hands it to another worker. A worker that lives renews every
lease/3 while the channel call runs, however long that takes (a big archive export,
a crawling CMS), so it is never taken over while it works.

Renewal is fenced like every other write (``claim_no`` and ``state = 'sending'``): a
worker that was frozen past its lease and lost the claim learns it at its next beat
and stops renewing; its late outcome is refused by :meth:`Deliveries._finish`, and the
channel's own idempotency keeps the item from being published twice.
"""

from __future__ import annotations

import threading
from types import TracebackType

import structlog

from pipeline.deliveries import Claim
from pipeline.services import Services

log = structlog.get_logger("govpub.lease")


class LeaseKeeper:
    """A daemon thread renewing the leases of ``claims`` while a ``with`` block runs."""

    def __init__(self, services: Services, claims: list[Claim]) -> None:
        self.services = services
        self.held = {claim.id: claim for claim in claims}
        self.lease = services.settings.lease_seconds
        self.stopped = threading.Event()
        # Held while a beat renews and while the batch records outcomes: two statements
        # locking the same rows in different orders could deadlock each other.
        self.writing = threading.Lock()
        self.thread = threading.Thread(target=self._beat, name="govpub-lease", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self.thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self) -> None:
        self.stopped.set()
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join()

    def forget(self, ids: list[int]) -> None:
        """Stop renewing claims whose outcome is recorded (the rest of the batch goes on)."""
        for done in ids:
            self.held.pop(done, None)

    def _beat(self) -> None:
        while self.held and not self.stopped.wait(self.lease / 3):
            self.renew()

    def renew(self) -> None:
        """One beat: extend every lease still held; forget those another worker took."""
        deliveries = self.services.deliveries
        try:
            with self.writing:
                held = list(self.held.values())
                kept = deliveries.renew(held, self.services.clock(), self.lease)
        except Exception as exc:  # the database restarts: try again at the next beat
            log.warning("lease renewal failed", error=str(exc)[:200], deliveries=sorted(self.held))
            return
        for lost in sorted({c.id for c in held} - kept):
            claim = self.held.pop(lost, None)
            if claim is None:  # recorded meanwhile (forget), not lost
                continue
            log.warning(
                "lease lost to another worker; its outcome will not be recorded",
                id=lost,
                channel=claim.channel,
                claim_no=claim.claim_no,
                worker=self.services.worker_name,
            )
