"""The overview's and /metrics' counts without reading every delivery on every request.

At a million deliveries a grouped count of the whole table takes a few hundred
milliseconds, and nearly all of it is `done`. So the overview counts the states an operator
acts on (waiting, processing, error, manual, revised, and rejected documents) live — short
ranges of the `(pipeline, state, …)` and `(status, id)` indexes — and takes the rest (done
counts, the 30-day chart) from a snapshot at most `ttl` seconds old; /metrics reads the
snapshot alone (one consistent set of figures per scrape, as old as a scrape interval).
The snapshot is refreshed in a background thread, so no request waits for it (only the
very first one does).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa

from syncd.store import Store
from syncd.store.schema import attempts, deliveries, documents, events
from syncd.web import queries, reads

LIVE = ("waiting", "processing", "error", "manual", "revised")
DOCUMENT_STATUSES = ("rejected", "repull")
OUTCOMES = ("delivered", "error", "retry", "found-existing", "resend")


@dataclass
class Snapshot:
    """The whole-table aggregates at one moment (`at`, monotonic seconds)."""

    at: float
    deliveries: dict[tuple[str, str, str], int] = field(default_factory=dict)
    documents: dict[tuple[str, str], int] = field(default_factory=dict)
    per_day: dict[date, dict[str, int]] = field(default_factory=dict)
    events: list[tuple[str | None, str, int]] = field(default_factory=list)
    throttled: list[tuple[str, int]] = field(default_factory=list)


def live_counts(store: Store, pipelines: Sequence[str]) -> dict[str, dict[str, int]]:
    """Per pipeline, the deliveries in the states that need an operator and the rejected
    (or reset) documents: ranges of the (pipeline, state, …) and (status, id) indexes."""
    out: dict[str, dict[str, int]] = {}
    with reads.connect(store) as conn:
        if pipelines:
            for pipeline, state, n in conn.execute(
                    sa.select(deliveries.c.pipeline, deliveries.c.state, sa.func.count())
                    .where(deliveries.c.pipeline.in_(list(pipelines)),
                           deliveries.c.state.in_(LIVE))
                    .group_by(deliveries.c.pipeline, deliveries.c.state)):
                out.setdefault(pipeline, {})[state] = n
        for pipeline, status, n in conn.execute(_documents_query()):
            out.setdefault(pipeline, {})[status] = n
    return out


def _documents_query() -> Any:
    return (sa.select(documents.c.pipeline, documents.c.status, sa.func.count())
            .where(documents.c.status.in_(DOCUMENT_STATUSES))
            .group_by(documents.c.pipeline, documents.c.status))


def take_snapshot(store: Store) -> Snapshot:
    """The whole-table aggregates: every delivery, the chart, the event log, attempts.

    On PostgreSQL without parallel workers: this runs in the background and must not take
    every core from the requests (and the daemon) while it counts.
    """
    with reads.connect(store) as conn:
        if store.dialect == "postgresql":
            conn.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
        counted = {(p, t, s): n for p, t, s, n in conn.execute(
            sa.select(deliveries.c.pipeline, deliveries.c.target, deliveries.c.state,
                      sa.func.count()).group_by(deliveries.c.pipeline, deliveries.c.target,
                                                deliveries.c.state))}
        statuses = {(p, s): n for p, s, n in conn.execute(_documents_query())}
        kinds = [(p, k, n) for p, k, n in conn.execute(
            sa.select(events.c.pipeline, events.c.kind, sa.func.count())
            .where(events.c.kind.in_(OUTCOMES)).group_by(events.c.pipeline, events.c.kind))]
        throttled = [(p, n) for p, n in conn.execute(
            sa.select(deliveries.c.pipeline, sa.func.count())
            .select_from(attempts.join(deliveries, deliveries.c.id == attempts.c.delivery_id))
            .where(attempts.c.error_code == "429").group_by(deliveries.c.pipeline))]
        chart = queries.per_day_on(conn, 30)
    return Snapshot(at=time.monotonic(), deliveries=counted, documents=statuses,
                    per_day=chart, events=kinds, throttled=throttled)


class Aggregates:
    """The latest `Snapshot`, refreshed in the background once it is older than `ttl`."""

    def __init__(self, store: Store, ttl: float = 30.0) -> None:
        self.store = store
        self.ttl = ttl
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()
        self._refreshing: threading.Thread | None = None
        self._closed = False

    def prime(self) -> None:
        """Take the first snapshot in the background (a server calls this at start)."""
        self._refresh_later()

    def snapshot(self) -> Snapshot:
        current = self._snapshot
        if current is None:
            self.wait()  # a priming refresh may be on its way
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

    def per_pipeline(self, pipelines: Sequence[str]) -> dict[str, dict[str, int]]:
        """Like `Store.counts()` for these pipelines: the operator's states live, the rest
        (done) from the snapshot."""
        out: dict[str, dict[str, int]] = {}
        for (pipeline, _target, state), n in self.snapshot().deliveries.items():
            if state not in LIVE and pipeline in pipelines:
                states = out.setdefault(pipeline, {})
                states[state] = states.get(state, 0) + n
        for pipeline, states in live_counts(self.store, pipelines).items():
            out.setdefault(pipeline, {}).update(states)
        return out
