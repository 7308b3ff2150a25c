"""Lease heartbeat: a background thread renews a claim's leases while its steps run.

One Amazon delivery can poll a feed for an hour against a five-minute lease; renewing only
between deliveries let a second worker take the row over and send it again. The heartbeat
renews every third of the lease, learns from each renewal which rows are still ours, and the
runner stops sending a row that is not (another worker took it, or an operator moved it).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import timedelta

from syncd.errors import ConfigError
from syncd.log import get_logger
from syncd.store import Store

MIN_LEASE = timedelta(seconds=1)
"""Shorter leases leave the heartbeat (a third of the lease) no time for a database round trip."""


def check_lease(lease: timedelta) -> None:
    if lease < MIN_LEASE:
        raise ConfigError([f"engine.lease: {lease.total_seconds():g}s is too short for the lease "
                           f"heartbeat (renewed every third of the lease); use at least "
                           f"{MIN_LEASE.total_seconds():g}s"])


class Heartbeat:
    """Keeps the tracked deliveries leased to `owner` until they are `done()`.

    One thread per engine, started with the first tracked claim: starting a thread per claim
    costs more than a small claim's delivery on a loaded machine.
    """

    def __init__(self, store: Store, owner: str, lease: timedelta) -> None:
        self.store = store
        self.owner = owner
        self.lease = lease
        self._active: set[int] = set()
        self._lost: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def track(self, ids: Iterable[int]) -> None:
        """Renew these from now on (a newly claimed batch)."""
        ids = set(ids)
        with self._lock:
            self._active |= ids
            self._lost -= ids
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="lease-heartbeat",
                                                daemon=True)
                self._thread.start()

    def done(self, delivery_id: int) -> None:
        """The row's outcome is committed (or handed back): no more renewals for it."""
        with self._lock:
            self._active.discard(delivery_id)

    def lost(self, delivery_id: int) -> bool:
        with self._lock:
            return delivery_id in self._lost

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.lease.total_seconds())
            self._thread = None

    def beat(self) -> None:
        """One renewal; public so tests can drive it without waiting."""
        with self._lock:
            ids = sorted(self._active)
        if not ids:
            return
        owned = self.store.renew(self.owner, ids, self.lease)
        gone = set(ids) - owned
        if gone:
            get_logger("syncd.engine").error("lease lost; not sending these any further",
                                             deliveries=sorted(gone), worker=self.owner)
        with self._lock:
            self._lost |= gone & self._active
            self._active -= gone

    def _run(self) -> None:
        interval = self.lease.total_seconds() / 3
        while not self._stop.wait(interval):
            try:
                self.beat()
            except Exception as exc:  # the database may be back at the next beat
                get_logger("syncd.engine").error("lease renewal failed", error=str(exc),
                                                 worker=self.owner)
