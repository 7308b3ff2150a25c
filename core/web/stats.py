"""The overview's and /metrics' counts without reading every delivery on every request.

At a million deliveries a grouped count of the whole table takes a few hundred
milliseconds, and nearly all of it is `done`. So the states an operator acts on (waiting,
processing, error, manual, revised, and rejected documents) are counted live — each a
short range of the `(state, document_id)` / `(status, id)` indexes — while the whole-table
aggregates (done counts, the 30-day chart, event and throttle counters) come from a
snapshot at most `ttl` seconds old, refreshed in a background thread so no request waits
for it (only the very first one does).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from syncd.store import Store
from syncd.store.schema import attempts, deliveries, documents, events
from syncd.web import queries

LIVE = ("waiting", "processing", "error", "manual", "revised")
DOCUMENT_STATUSES = ("rejected", "repull")
OUTCOMES = ("delivered", "error", "retry", "found-existing", "resend")


@dataclass
class Snapshot:
    """The whole-table aggregates at one moment (`at`, monotonic seconds)."""

    at: float
    deliveries: dict[tuple[str, str, str], int] = field(default_factory=dict)
    per_day: dict[date, dict[str, int]] = field(default_factory=dict)
    events: list[tuple[str | None, str, int]] = field(default_factory=list)
    throttled: list[tuple[str, int]] = field(default_factory=list)


def live_deliveries(store: Store) -> dict[tuple[str, str, str], int]:
    """Deliveries per pipeline, target and state for the states that need an operator."""
    query = (sa.select(deliveries.c.pipeline, deliveries.c.target, deliveries.c.state,
                       sa.func.count()).where(deliveries.c.state.in_(LIVE))
             .group_by(deliveries.c.pipeline, deliveries.c.target, deliveries.c.state))
    with store.engine.connect() as conn:
        return {(p, t, s): n for p, t, s, n in conn.execute(query)}


def live_documents(store: Store) -> dict[tuple[str, str], int]:
    """Rejected (and reset, waiting for a new pull) documents per pipeline."""
    query = (sa.select(documents.c.pipeline, documents.c.status, sa.func.count())
             .where(documents.c.status.in_(DOCUMENT_STATUSES))
             .group_by(documents.c.pipeline, documents.c.status))
    with store.engine.connect() as conn:
        return {(p, s): n for p, s, n in conn.execute(query)}


def take_snapshot(store: Store) -> Snapshot:
    """The whole-table aggregates: every delivery, the chart, the event log, attempts."""
    with store.engine.connect() as conn:
        counted = {(p, t, s): n for p, t, s, n in conn.execute(
            sa.select(deliveries.c.pipeline, deliveries.c.target, deliveries.c.state,
                      sa.func.count()).group_by(deliveries.c.pipeline, deliveries.c.target,
                                                deliveries.c.state))}
        kinds = [(p, k, n) for p, k, n in conn.execute(
            sa.select(events.c.pipeline, events.c.kind, sa.func.count())
            .where(events.c.kind.in_(OUTCOMES)).group_by(events.c.pipeline, events.c.kind))]
        throttled = [(p, n) for p, n in conn.execute(
            sa.select(deliveries.c.pipeline, sa.func.count())
            .select_from(attempts.join(deliveries, deliveries.c.id == attempts.c.delivery_id))
            .where(attempts.c.error_code == "429").group_by(deliveries.c.pipeline))]
    return Snapshot(at=time.monotonic(), deliveries=counted,
                    per_day=queries.per_day(store, 30), events=kinds, throttled=throttled)


class Aggregates:
    """The latest `Snapshot`, refreshed in the background once it is older than `ttl`."""

    def __init__(self, store: Store, ttl: float = 30.0) -> None:
        self.store = store
        self.ttl = ttl
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()
        self._refreshing: threading.Thread | None = None
        self._closed = False

    def snapshot(self) -> Snapshot:
        current = self._snapshot
        if current is None:
            with self._lock:  # the first request computes it; concurrent ones wait for it
                if self._snapshot is None:
                    self._snapshot = take_snapshot(self.store)
                return self._snapshot
        if time.monotonic() - current.at >= self.ttl:
            self._refresh_later()
        return current

    def _refresh_later(self) -> None:
        with self._lock:
            if self._closed or (self._refreshing is not None and self._refreshing.is_alive()):
                return
            self._refreshing = threading.Thread(target=self._refresh, daemon=True,
                                                name="syncd-web-aggregates")
            self._refreshing.start()

    def _refresh(self) -> None:
        try:
            fresh = take_snapshot(self.store)
        except sa.exc.SQLAlchemyError:  # e.g. the store closed while counting: keep the last
            return
        self._snapshot = fresh

    def wait(self) -> None:
        """Until a running refresh is done (tests, shutdown)."""
        thread = self._refreshing
        if thread is not None:
            thread.join()

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self.wait()

    def deliveries(self) -> dict[tuple[str, str, str], int]:
        """Per pipeline, target and state: live for `LIVE`, the snapshot's for the rest."""
        out = {k: n for k, n in self.snapshot().deliveries.items() if k[2] not in LIVE}
        out.update(live_deliveries(self.store))
        return out

    def per_pipeline(self) -> dict[str, dict[str, int]]:
        """Like `Store.counts()`: deliveries per pipeline and state plus document statuses."""
        out: dict[str, dict[str, int]] = {}
        for (pipeline, _target, state), n in self.deliveries().items():
            states = out.setdefault(pipeline, {})
            states[state] = states.get(state, 0) + n
        for (pipeline, status), n in live_documents(self.store).items():
            out.setdefault(pipeline, {})[status] = n
        return out

