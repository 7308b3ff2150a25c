"""The pipeline runner: pull into the store, then deliver what is due, then reloads/resends.

Order of effects is always: commit state, touch the remote, commit the outcome. Step results
are committed as each step returns (the last one with the outcome, in small groups); a crash
leaves the delivery in `processing` with a lease that a heartbeat kept alive while the worker
lived; after expiry any worker looks the first uncommitted step up before running it.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from syncd.config import Config, PipelineSettings
from syncd.connectors import NumberSeries, Source, StepResult, Target, Window
from syncd.engine import delivery
from syncd.engine.heartbeat import Heartbeat, check_lease
from syncd.engine.runtime import build_connector, build_host
from syncd.errors import ConfigError, SyncdError
from syncd.jobs import Job
from syncd.log import get_logger
from syncd.model import Document
from syncd.plugins import PluginHost
from syncd.store import Claimed, IngestStats, Outcome, Store, StoreInbox, utcnow
from syncd.store.open_deliveries import StoreDeliveries


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
    paused: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"pipeline": self.pipeline, "pulled": asdict(self.pulled),
                "delivery": asdict(self.delivery), "seconds": round(self.seconds, 3),
                "pull_error": self.pull_error, "paused": self.paused}


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
        check_lease(self.settings.lease)
        self.flush_every = flush_every
        self.claim_size = claim_size or self.settings.batch_size
        self._connectors: dict[tuple[str, str, str], Any] = {}
        self.heartbeat = Heartbeat(store, self.owner, self.settings.lease)

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
            inbox = StoreInbox(self.store, pipeline.name) if kind == "source" else None
            mine = StoreDeliveries(self.store, pipeline.name, name) if kind == "target" else None
            self._connectors[key] = build_connector(
                self.config, self.host, pipeline, kind, name,
                inbox=inbox, archive=self.store, deliveries=mine)
        return self._connectors[key]

    def close(self) -> None:
        self.heartbeat.close()
        for connector in self._connectors.values():
            try:
                connector.close()
            except Exception as exc:  # closing must not hide the run's outcome
                log().warning("close failed", connector=type(connector).__name__, error=str(exc))
        self._connectors.clear()

    def today(self) -> date:
        """The seller's calendar day (`[company] timezone`, default Europe/Berlin)."""
        company = self.config.company()
        zone = getattr(company, "timezone", None) or self.config.timezone
        return datetime.now(ZoneInfo(zone)).date()

    def options(self, pipeline: PipelineSettings, name: str, target: Target) -> Any:
        """The target's validated per-pipeline options (`[pipelines.options.<endpoint>]`)."""
        found = self.config.target_options(pipeline, name)
        if found is None and target.options_model is not None:
            return target.options_model()  # every option has its default
        return found

    # -- pull -----------------------------------------------------------------------------

    def in_place(self, pipeline: PipelineSettings) -> set[str]:
        return {t for t in pipeline.targets if self.target(pipeline, t).updates_in_place}

    def pull(self, pipeline: PipelineSettings) -> IngestStats:
        """Read since the stored cursor; each batch commits with its cursor, then is acked."""
        stats = IngestStats()
        if not pipeline.enabled or self.store.is_paused(pipeline.name):
            return stats
        with self.store.pull_lock(pipeline.name) as mine:
            if not mine:
                log().info("another worker is pulling; delivering only", pipeline=pipeline.name)
                return stats
            source = self.source(pipeline)
            in_place = self.in_place(pipeline)
            cursor = self.store.cursor(pipeline.name, pipeline.source)
            for batch in source.read(cursor):
                stats.add(self.store.ingest(pipeline.name, pipeline.source, pipeline.targets,
                                            batch.items, batch.cursor, actor=self.owner,
                                            in_place=in_place))
                source.committed(batch.cursor)
                if self.stop.is_set() or self.store.is_paused(pipeline.name):
                    break  # a pause (or stop) takes effect after the batch just committed
        return stats

    # -- delivery -------------------------------------------------------------------------

    def numbering(self, pipeline: PipelineSettings) -> Any:
        """Validate with every target, then the first numbering target's series."""
        targets = [self.target(pipeline, t) for t in pipeline.targets]

        def plan(document: Document) -> NumberSeries | None:
            for target in targets:
                target.validate(document)
            for target in targets:
                series = target.number_series(document)
                if series is not None:
                    return series
            return None

        return plan

    def deliver(self, pipeline: PipelineSettings, *, only_ids: Sequence[int] | None = None,
                today: date | None = None) -> tuple[DeliveryStats, list[Outcome]]:
        """Deliver everything due now (until the queue is empty, a pause or a stop)."""
        stats = DeliveryStats()
        outcomes: list[Outcome] = []
        lease = self.settings.lease
        while not self.stop.is_set():
            if only_ids is None and self.store.is_paused(pipeline.name):
                break
            claimed = self.store.claim(pipeline.name, self.owner, self.claim_size, lease,
                                       self.numbering(pipeline), only_ids=only_ids,
                                       targets=pipeline.targets, today=today or self.today())
            if not claimed:
                break
            self._deliver_claimed(pipeline, claimed, stats,
                                  outcomes if only_ids is not None else None)
            if only_ids is not None:
                break
        return stats, outcomes

    def job(self, pipeline: PipelineSettings, claimed: Claimed) -> Job:
        target = self.target(pipeline, claimed.target)
        return Job(document=claimed.document, pipeline=pipeline.name, target=claimed.target,
                   options=self.options(pipeline, claimed.target, target),
                   steps=dict(claimed.steps), links=dict(claimed.links),
                   attachments=tuple(claimed.attachments), resend=claimed.resend,
                   delivery_id=claimed.delivery_id, in_doubt_since=claimed.in_doubt_since)

    def _fetch(self, pipeline: PipelineSettings, claimed: list[Claimed],
               heartbeat: Heartbeat) -> dict[int, Outcome]:
        """Fetch url attachments (once per document) before any target's first step."""
        failed: dict[int, Outcome] = {}
        fetched: dict[int, list[Any]] = {}
        errors: dict[int, tuple[BaseException, str]] = {}
        for c in claimed:
            if not c.to_fetch or self.stop.is_set() or heartbeat.lost(c.delivery_id):
                continue
            started = utcnow()
            if c.document_id not in fetched and c.document_id not in errors:
                got = []
                for attachment in c.to_fetch:
                    try:
                        data = self.source(pipeline).fetch_attachment(c.document, attachment)
                        if not isinstance(data, bytes):
                            raise TypeError(f"fetch_attachment returned {type(data).__name__}, "
                                            "not bytes")
                        got.append(self.store.put_fetched(c.document_id, attachment, data))
                    except ConfigError:
                        raise
                    except Exception as exc:
                        errors[c.document_id] = (exc, attachment.filename)
                        break
                else:
                    fetched[c.document_id] = got
            if c.document_id in errors:
                exc, what = errors[c.document_id]
                failed[c.delivery_id] = delivery.fetch_failed(exc, c, started, what,
                                                              self.settings)
            else:
                c.attachments.extend(fetched[c.document_id])
                c.to_fetch = []
        return failed

    def _prepare(self, pipeline: PipelineSettings, jobs: dict[int, Job]) -> None:
        """Each target's batch hook with its jobs of this claim (an optimisation only)."""
        by_target: dict[str, list[Job]] = {}
        for job in jobs.values():
            by_target.setdefault(job.target, []).append(job)
        for name, group in by_target.items():
            try:
                self.target(pipeline, name).prepare(group)
            except ConfigError:
                raise
            except Exception as exc:  # the steps then do the work one by one
                log().error("prepare failed", pipeline=pipeline.name, target=name,
                            error=f"{type(exc).__name__}: {exc}")

    def _deliver_claimed(self, pipeline: PipelineSettings, claimed: list[Claimed],
                         stats: DeliveryStats, keep: list[Outcome] | None) -> None:
        """Attempt each claimed delivery while a heartbeat keeps the leases.

        Whatever happens, finished outcomes are written (for rows still ours) and untouched
        claims handed back; a delivery whose attempt blew up stays leased, so it is looked
        up after expiry.
        """
        pending: list[Outcome] = []
        flushed = time.monotonic()
        started = 0  # claimed[:started] were attempted (the last one may be in flight)

        def record(delivery_id: int, step: str, position: int, result: StepResult) -> bool:
            return self.store.record_step(self.owner, delivery_id, step, position, result)

        def flush() -> None:
            nonlocal pending
            for lost in self.store.finish(self.owner, pending):
                log().error("lease lost before the outcome was written; another worker owns "
                            "it now", pipeline=pipeline.name, target=lost.claimed.target,
                            document=lost.claimed.document.identity)
            for o in pending:
                heartbeat.done(o.claimed.delivery_id)
            pending = []

        heartbeat = self.heartbeat
        heartbeat.track(c.delivery_id for c in claimed)
        try:
            failed = self._fetch(pipeline, claimed, heartbeat)
            jobs = {c.delivery_id: self.job(pipeline, c) for c in claimed
                    if c.delivery_id not in failed}
            self._prepare(pipeline, jobs)
            for current in claimed:
                if self.stop.is_set():
                    break
                started += 1
                if heartbeat.lost(current.delivery_id):
                    continue
                outcome = failed.get(current.delivery_id) or delivery.attempt(
                    self.target(pipeline, current.target), current,
                    jobs[current.delivery_id], self.settings, record,
                    lambda c=current: not heartbeat.lost(c.delivery_id))
                if outcome is None:  # the lease was lost mid-way: nothing more is sent
                    continue
                stats.count(outcome)
                pending.append(outcome)
                if keep is not None:
                    keep.append(outcome)
                if outcome.state == "error":
                    log().warning("delivery failed", pipeline=pipeline.name,
                                  target=current.target, step=outcome.step,
                                  document=current.document.identity,
                                  error=outcome.error_message)
                now = time.monotonic()
                if len(pending) >= self.flush_every or now - flushed > 1.0:
                    flush()
                    flushed = now
        finally:
            flush()
            for c in claimed:
                heartbeat.done(c.delivery_id)
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
        if self.store.is_paused(pipeline.name):
            log().info("paused; nothing pulled or delivered", pipeline=pipeline.name)
            return CycleSummary(pipeline.name, pulled, DeliveryStats(), 0.0, paused=True)
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
                log().error("pull failed", pipeline=pipeline.name, error=pull_error)
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

    # -- operator actions (syncd.engine.operations) ------------------------------------

    def resend(self, doc_ids: Sequence[int], actor: str) -> list[tuple[bool, str]]:
        """Deliver done (or revised) documents again, unless the remote still has them."""
        from syncd.engine.operations import resend

        return resend(self, doc_ids, actor)

    def reload(self, pipeline: PipelineSettings, start: date, end: date, actor: str,
               progress: ReloadProgress | None = None) -> tuple[IngestStats, bool]:
        """Re-read [start, end] in windows of the source's max_window; resumable."""
        from syncd.engine.operations import reload

        return reload(self, pipeline, start, end, actor, progress)
