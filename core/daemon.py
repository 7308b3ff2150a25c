"""`syncd run`: every enabled pipeline on its schedule, retries when due, clean shutdown.

SIGTERM/SIGINT set a flag; the engine finishes the delivery in flight, hands unsent leases
back and the process exits 0. The wait between cycles is bounded, so the flag is seen quickly.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from syncd.config import Config, PipelineSettings
from syncd.engine import CycleSummary, Engine
from syncd.errors import ConfigError
from syncd.log import get_logger
from syncd.store import Store, utcnow


def log() -> Any:
    """Looked up per use: the CLI configures logging after this module is imported."""
    return get_logger("syncd.daemon")

POLL = 30.0
"""Longest sleep between checks, seconds: picks up work other workers left and stop requests."""
CONTROL_POLL = 2.0
"""How often the operator switches (`syncd pipelines pause|resume|run`) are read, seconds."""


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None else None


class Daemon:
    """Runs the pipelines of `engine` until stopped (or once, with `once=True`)."""

    def __init__(self, engine: Engine, *, poll: float = POLL,
                 control_poll: float = CONTROL_POLL,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.engine = engine
        self.store: Store = engine.store
        self.config: Config = engine.config
        self.stop: threading.Event = engine.stop
        self.poll = poll
        self.control_poll = control_poll
        self.paused: set[str] = set()
        self.pull_failed = False
        self.clock = clock or (lambda: datetime.now(UTC))
        self.next_pull: dict[str, datetime] = {}
        self.crashed = False

    @contextmanager
    def signals_stop(self) -> Iterator[None]:
        """SIGTERM/SIGINT request a stop while inside; the previous handlers come back after."""

        def handler(signum: int, _frame: FrameType | None) -> None:
            log().info("stop requested", signal=signal.Signals(signum).name)
            self.stop.set()

        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)

    def run_once(self) -> int:
        """Every enabled pipeline once (paused ones are skipped); 1 when a pull failed or a
        delivery of these pipelines is in error, so cron users notice."""
        failed = False
        try:
            for pipeline in self.engine.pipelines():
                if self.stop.is_set():
                    break
                self._cycle(pipeline, pull=True)
                failed = failed or self.store.error_count(pipeline.name) > 0
        finally:
            self._shutdown()
        return 1 if failed or self.crashed or self.pull_failed else 0

    def _controls(self, pipelines: list[PipelineSettings]) -> None:
        """Read the operator switches: paused pipelines wait, a run request pulls now."""
        try:
            controls = self.store.controls()
        except Exception as exc:  # the database may be back at the next look
            log().error("cannot read the pipeline switches", error=str(exc))
            return
        now = self.clock()
        for p in pipelines:
            control = controls.get(p.name)
            paused = bool(control and control.paused)
            if paused != (p.name in self.paused):
                log().info("paused" if paused else "resumed", pipeline=p.name,
                           actor=control.actor if control else None)
                (self.paused.add if paused else self.paused.discard)(p.name)
            if control and control.run_requested_at and not paused:
                log().info("run requested", pipeline=p.name, actor=control.actor)
                self.next_pull[p.name] = now
                self.store.clear_run_request(p.name, control.run_requested_at)

    def run_forever(self) -> int:
        pipelines = self.engine.pipelines()
        if not pipelines:
            log().warning("no enabled pipeline; nothing to run")
        runs = self.store.runs()
        now = self.clock()
        for p in pipelines:
            planned = _aware(runs[p.name].next_run_at) if p.name in runs else None
            self.next_pull[p.name] = planned if planned and planned > now else now
        try:
            while not self.stop.is_set():
                self._controls(pipelines)
                for p in pipelines:
                    if self.stop.is_set():
                        break
                    if p.name in self.paused:
                        continue
                    now = self.clock()
                    if now >= self.next_pull[p.name]:
                        self.next_pull[p.name] = p.parsed_schedule.next_after(now)
                        self._cycle(p, pull=True)
                    elif self._due(p, now):
                        self._cycle(p, pull=False)
                self.stop.wait(self._sleep_seconds(pipelines))
        finally:
            self._shutdown()
        return 0

    def _due(self, pipeline: PipelineSettings, now: datetime) -> bool:
        try:
            due = _aware(self.store.next_due(pipeline.name))
        except Exception as exc:
            log().error("cannot read the queue", pipeline=pipeline.name, error=str(exc))
            return False
        return due is not None and due <= now

    def _sleep_seconds(self, pipelines: list[PipelineSettings]) -> float:
        if self.crashed:  # do not spin on a failing pipeline: wait a full poll interval
            self.crashed = False
            return min(self.poll, 5 * self.control_poll)
        now = self.clock()
        active = [p for p in pipelines if p.name not in self.paused]
        wake = [self.next_pull[p.name] for p in active]
        try:
            for p in active:
                due = _aware(self.store.next_due(p.name))
                if due is not None:
                    wake.append(due)
        except Exception as exc:  # database unreachable: try again after a poll interval
            log().error("cannot read the schedule", error=str(exc))
            return self.poll
        if not wake:
            return min(self.poll, self.control_poll)
        return max(0.05, min(self.poll, self.control_poll, (min(wake) - now).total_seconds()))

    def _cycle(self, pipeline: PipelineSettings, *, pull: bool) -> CycleSummary | None:
        """One pipeline run; a crash in it is logged and recorded, the others still run."""
        started = utcnow()
        try:
            summary = self.engine.run_cycle(pipeline, pull=pull)
        except Exception as exc:
            self.crashed = True
            stopped = isinstance(exc, ConfigError)
            if stopped:  # the operator must fix credentials or settings; no traceback needed
                log().error("pipeline stopped", pipeline=pipeline.name, error=str(exc))
            else:
                log().exception("cycle failed", pipeline=pipeline.name, error=str(exc))
            try:
                self.store.event("pipeline-stopped" if stopped else "cycle-error",
                                 pipeline=pipeline.name, actor=self.engine.owner,
                                 message=f"{type(exc).__name__}: {exc}")
                self.store.release(self.engine.owner, in_doubt=True)
            except Exception as store_exc:  # the database itself may be what failed
                log().error("cannot record the failure", error=str(store_exc))
            return None
        if summary.pull_error:
            self.pull_failed = True
        following = self.next_pull.get(pipeline.name)
        if following is None:
            following = pipeline.parsed_schedule.next_after(self.clock())
        if pull:
            self.store.record_run(pipeline.name, started, utcnow(),
                                  following.astimezone(UTC).replace(tzinfo=None),
                                  summary.as_dict())
        return summary

    def _shutdown(self) -> None:
        released = self.store.release(self.engine.owner, in_doubt=True)
        if released:
            log().info("leases released", count=released)
        self.engine.close()


def run(engine: Engine, *, once: bool, handle_signals: bool = True, **options: Any) -> int:
    """Run the daemon; returns the process exit status."""
    daemon = Daemon(engine, **options)
    log().info("syncd run", once=once, worker=engine.owner,
               pipelines=[p.name for p in engine.pipelines()])
    with daemon.signals_stop() if handle_signals else nullcontext():
        return daemon.run_once() if once else daemon.run_forever()


def next_runs(config: Config, store: Store) -> dict[str, datetime | None]:
    """When each pipeline pulls next (for `syncd status`)."""
    runs = store.runs()
    out: dict[str, datetime | None] = {}
    for p in config.settings.pipelines:
        row = runs.get(p.name)
        if not p.enabled:
            out[p.name] = None
        elif row is not None and row.next_run_at is not None:
            out[p.name] = _aware(row.next_run_at)
        else:
            out[p.name] = None
    return out


__all__ = ["Daemon", "next_runs", "run"]
