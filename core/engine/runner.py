"""The pipeline runner: pull into the store, then deliver what is due, then reloads/resends.

Order of effects is always: commit state, touch the remote, commit the outcome. Outcomes are
flushed in small groups (a crash loses at most those marks; the deliveries then sit in
`processing` with a lease, expire, and are looked up with find_existing before any resend).
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any, Protocol

from syncd.config import Config, PipelineSettings
from syncd.connectors import NumberSeries, Source, Target, Window
from syncd.engine import delivery
from syncd.engine.runtime import build_connector, build_host
from syncd.errors import ConfigError, SyncdError
from syncd.log import get_logger
from syncd.model import Document
from syncd.plugins import PluginHost
from syncd.store import Claimed, IngestStats, Outcome, Store


def log() -> Any:
    """Looked up per use: the CLI configures logging after this module is imported."""
    return get_logger("syncd.engine")


@dataclass
class DeliveryStats:
    delivered: int = 0
    found: int = 0
    retrying: int = 0
    failed: int = 0
    refused: int = 0

    def count(self, outcome: Outcome) -> None:
        if outcome.state == "done":
            if outcome.result == "done":
                self.delivered += 1
            elif outcome.result == "refused":
                self.refused += 1
            else:
                self.found += 1
        elif outcome.state == "waiting":
            self.retrying += 1
        else:
            self.failed += 1


@dataclass
class CycleSummary:
    pipeline: str
    pulled: IngestStats
    delivery: DeliveryStats
    seconds: float
    pull_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"pipeline": self.pipeline, "pulled": asdict(self.pulled),
                "delivery": asdict(self.delivery), "seconds": round(self.seconds, 3),
                "pull_error": self.pull_error}


class ReloadProgress(Protocol):
    def start(self, windows: int, done: int) -> None: ...
    def window(self, window: Window) -> None: ...
    def documents(self, count: int) -> None: ...


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Engine:
    """Runs pipelines of one config against one store; safe to run in several processes."""

    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        host: PluginHost | None = None,
        extra_plugins: Iterable[tuple[str, object]] = (),
        stop: threading.Event | None = None,
        owner: str | None = None,
        flush_every: int = 50,
        claim_size: int | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.host = host or build_host(config, extra_plugins)
        self.stop = stop or threading.Event()
        self.owner = owner or worker_id()
        self.settings = config.settings.engine
        self.flush_every = flush_every
        self.claim_size = claim_size or self.settings.batch_size
        self._connectors: dict[tuple[str, str, str], Any] = {}

    # -- connectors -----------------------------------------------------------------------

    def pipelines(self, include_disabled: bool = False) -> list[PipelineSettings]:
        return [p for p in self.config.settings.pipelines if include_disabled or p.enabled]

    def source(self, pipeline: PipelineSettings) -> Source:
        return self._connector(pipeline, "source", pipeline.source)  # type: ignore[return-value]

    def target(self, pipeline: PipelineSettings, name: str) -> Target:
        return self._connector(pipeline, "target", name)  # type: ignore[return-value]

    def _connector(self, pipeline: PipelineSettings, kind: str, name: str) -> Any:
        key = (pipeline.name, kind, name)
        if key not in self._connectors:
            self._connectors[key] = build_connector(
                self.config, self.host, pipeline, kind, name,
                services={"lookup_number": self.store.number_of})
        return self._connectors[key]

    def close(self) -> None:
        for connector in self._connectors.values():
            try:
                connector.close()
            except Exception as exc:  # closing must not hide the run's outcome
                log().warning("close failed", connector=type(connector).__name__, error=str(exc))
        self._connectors.clear()

    # -- pull -----------------------------------------------------------------------------

    def pull(self, pipeline: PipelineSettings) -> IngestStats:
        """Read since the stored cursor; each batch commits with its cursor."""
        stats = IngestStats()
        if not pipeline.enabled:
            return stats
        with self.store.pull_lock(pipeline.name) as mine:
            if not mine:
                log().info("another worker is pulling; delivering only", pipeline=pipeline.name)
                return stats
            source = self.source(pipeline)
            cursor = self.store.cursor(pipeline.name, pipeline.source)
            for batch in source.read(cursor):
                stats.add(self.store.ingest(pipeline.name, pipeline.source, pipeline.targets,
                                            batch.items, batch.cursor, actor=self.owner))
                if self.stop.is_set():
                    break
        return stats

    # -- delivery -------------------------------------------------------------------------

    def _series_for(self, pipeline: PipelineSettings) -> Any:
        def series_for(target: str, document: Document) -> NumberSeries | None:
            return self.target(pipeline, target).number_series(document)

        return series_for

    def deliver(self, pipeline: PipelineSettings, *, only_ids: Sequence[int] | None = None,
                today: date | None = None) -> tuple[DeliveryStats, list[Outcome]]:
        """Deliver everything due now (until the queue is empty or stop is requested)."""
        stats = DeliveryStats()
        outcomes: list[Outcome] = []
        lease = self.settings.lease
        while not self.stop.is_set():
            claimed = self.store.claim(pipeline.name, self.owner, self.claim_size, lease,
                                       self._series_for(pipeline), only_ids=only_ids,
                                       targets=pipeline.targets, today=today)
            if not claimed:
                break
            self._deliver_claimed(pipeline, claimed, stats,
                                  outcomes if only_ids is not None else None)
            if only_ids is not None:
                break
        return stats, outcomes

    def _deliver_claimed(self, pipeline: PipelineSettings, claimed: list[Claimed],
                         stats: DeliveryStats, keep: list[Outcome] | None) -> None:
        """Attempt each claimed delivery; outcomes are committed in groups.

        Whatever happens, finished outcomes are written and untouched claims handed back;
        a delivery whose attempt blew up stays leased, so it is looked up after expiry.
        """
        lease = self.settings.lease
        pending: list[Outcome] = []
        flushed = renewed = time.monotonic()
        started = 0  # claimed[:started] were attempted (the last one may be in flight)
        try:
            for current in claimed:
                if self.stop.is_set():
                    break
                started += 1
                outcome = delivery.attempt(self.target(pipeline, current.target), current,
                                           self.settings)
                stats.count(outcome)
                pending.append(outcome)
                if keep is not None:
                    keep.append(outcome)
                if outcome.state == "error":
                    log().warning("delivery failed", pipeline=pipeline.name,
                                  target=current.target, document=current.document.identity,
                                  error=outcome.error_message)
                now = time.monotonic()
                if len(pending) >= self.flush_every or now - flushed > 1.0:
                    self.store.finish(self.owner, pending)
                    pending = []
                    flushed = now
                if now - renewed > lease.total_seconds() / 4:
                    # every claim still leased to us, including outcomes not yet committed
                    self.store.renew(self.owner, [c.delivery_id for c in claimed], lease)
                    renewed = now
        finally:
            self.store.finish(self.owner, pending)
            untouched = [c.delivery_id for c in claimed[started:]]
            if untouched:
                released = self.store.release(self.owner, untouched)
                log().info("leases handed back", pipeline=pipeline.name, released=released,
                           stopping=self.stop.is_set())

    def run_cycle(self, pipeline: PipelineSettings, *, pull: bool = True) -> CycleSummary:
        """Pull (when due) and deliver; logs one summary line."""
        started = time.monotonic()
        pulled = IngestStats()
        pull_error = None
        if pull and pipeline.enabled:
            try:
                pulled = self.pull(pipeline)
            except ConfigError:
                raise  # unusable credentials or settings: stop instead of delivering blind
            except SyncdError as exc:  # the remote failed; what is stored still gets delivered
                pull_error = str(exc)
            except Exception as exc:  # a connector bug must not stop the other pipelines
                pull_error = f"{type(exc).__name__}: {exc}"
            if pull_error:
                self.store.event("pull-error", pipeline=pipeline.name, message=pull_error,
                                 actor=self.owner)
        stats = DeliveryStats()
        if pipeline.enabled:
            stats, _ = self.deliver(pipeline)
        summary = CycleSummary(pipeline.name, pulled, stats, time.monotonic() - started,
                               pull_error)
        log().info("cycle", pipeline=pipeline.name, pulled_new=pulled.new,
                 revised=pulled.revised, rejected=pulled.rejected, skipped=pulled.skipped,
                 delivered=stats.delivered, found_existing=stats.found,
                 retrying=stats.retrying, failed=stats.failed,
                 seconds=round(summary.seconds, 3), pull_error=pull_error)
        return summary

    # -- operator actions -----------------------------------------------------------------

    def resend(self, doc_ids: Sequence[int], actor: str) -> list[tuple[bool, str]]:
        """Deliver done documents again, unless the remote still has them (then refuse)."""
        results: list[tuple[bool, str]] = []
        rows = self.store.deliveries_of(doc_ids, ("done",))
        by_doc = {r.document_id for r in rows}
        for doc_id in doc_ids:
            if doc_id not in by_doc:
                results.append((False, f"document {doc_id}: no done delivery to send again"))
        for row in rows:
            pipeline = self.config.pipeline(row.pipeline)
            self.store.queue_resend([row.id], actor)
            _, outcomes = self.deliver(pipeline, only_ids=[row.id])
            if not outcomes:
                results.append((False, f"document {row.document_id}: {row.target} is busy; "
                                       "queued for the next run"))
                continue
            out = outcomes[0]
            if out.result == "refused":
                results.append((False, f"document {row.document_id}: {row.target} still has "
                                       f"it as {out.remote_ref}; refusing to send it twice "
                                       "(remove it there first)"))
            elif out.state == "done":
                results.append((True, f"document {row.document_id}: sent again to "
                                      f"{row.target} as {out.remote_ref}"))
            else:
                results.append((False, f"document {row.document_id}: {row.target}: "
                                       f"{out.error_message} ({out.state})"))
        return results

    def reload(self, pipeline: PipelineSettings, start: date, end: date, actor: str,
               progress: ReloadProgress | None = None) -> tuple[IngestStats, bool]:
        """Re-read [start, end] in windows of the source's max_window; resumable.

        Returns the pull statistics and whether every window was read.
        """
        if not pipeline.enabled:
            raise SyncdError(f"pipeline {pipeline.name!r} is disabled (enabled = false); "
                             "enable it to reload")
        if end < start:
            raise SyncdError(f"--to {end} is before --from {start}")
        source = self.source(pipeline)
        stop = end + timedelta(days=1)
        job = self.store.start_reload(pipeline.name, start, stop, actor)
        size = source.discover().max_window
        every = Window(start, stop).split(size) if size else [Window(start, stop)]
        todo = [w for w in every if w.start >= job.done_until]
        if progress:
            progress.start(len(every), len(every) - len(todo))
        stats = IngestStats()
        for window in todo:
            if self.stop.is_set():
                break
            for batch in source.read(None, window):
                got = self.store.ingest(pipeline.name, pipeline.source, pipeline.targets,
                                        batch.items, None, store_cursor=False,
                                        reload_id=job.id, actor=actor)
                stats.add(got)
                if progress:
                    progress.documents(got.documents)
            self.store.ingest(pipeline.name, pipeline.source, pipeline.targets, [], None,
                              store_cursor=False, reload_id=job.id,
                              reload_done_until=window.end, actor=actor)
            log().info("reload window", pipeline=pipeline.name, start=str(window.start),
                     end=str(window.end), documents=stats.documents)
            if progress:
                progress.window(window)
        complete = not self.stop.is_set()
        if complete:
            self.store.finish_reload(job.id)
        self.deliver(pipeline)
        return stats, complete
