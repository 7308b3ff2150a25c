"""Long operations started from the browser: a reload or a run now, each in its own thread.

Each job builds its own `Engine` (connectors are not shared between threads), calls the same
engine function the CLI calls (`Engine.reload`, `Engine.run_cycle`) with the web user as the
actor, and reports progress here; the reload page polls `/reload/jobs/{id}.json`.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from syncd.connectors import Window
from syncd.engine import Engine
from syncd.log import get_logger, masker
from syncd.store import utcnow


@dataclass
class Job:
    id: int
    kind: str  # reload | run | import (a run after an upload)
    pipeline: str
    actor: str
    start: date | None = None
    end: date | None = None
    state: str = "running"  # running | finished | interrupted | failed
    windows: int = 0
    windows_done: int = 0
    documents: int = 0
    result: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    filename: str | None = None
    events_after: int = 0  # the event log's last id when the job started (for its rejects)
    started_at: datetime = field(default_factory=utcnow)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "pipeline": self.pipeline,
                "actor": self.actor, "state": self.state, "windows": self.windows,
                "windows_done": self.windows_done, "documents": self.documents,
                "result": self.result, "error": self.error, "filename": self.filename,
                "start": self.start.isoformat() if self.start else None,
                "end": self.end.isoformat() if self.end else None}


class _Progress:
    """The engine's ReloadProgress, writing into the job the page polls."""

    def __init__(self, job: Job) -> None:
        self.job = job

    def start(self, windows: int, done: int) -> None:
        self.job.windows, self.job.windows_done = windows, done

    def window(self, window: Window) -> None:
        self.job.windows_done += 1

    def documents(self, count: int) -> None:
        self.job.documents += count


class Jobs:
    """The jobs of this process; one reload or run per pipeline at a time."""

    def __init__(self, make_engine: Callable[[str], Engine]) -> None:
        self.make_engine = make_engine
        self._jobs: dict[int, Job] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._engines: set[Engine] = set()

    def get(self, job_id: int) -> Job | None:
        return self._jobs.get(job_id)

    def recent(self, limit: int = 10) -> list[Job]:
        return sorted(self._jobs.values(), key=lambda j: -j.id)[:limit]

    def busy(self, pipeline: str) -> Job | None:
        return next((j for j in self._jobs.values()
                     if j.pipeline == pipeline and j.state == "running"), None)

    def start_reload(self, pipeline: str, start: date, end: date, actor: str) -> Job:
        return self._start(Job(0, "reload", pipeline, actor, start, end))

    def start_run(self, pipeline: str, actor: str, *, kind: str = "run",
                  filename: str | None = None, events_after: int = 0) -> Job:
        return self._start(Job(0, kind, pipeline, actor, filename=filename,
                               events_after=events_after))

    def _start(self, job: Job) -> Job:
        with self._lock:
            running = self.busy(job.pipeline)
            if running is not None:
                return running
            job.id = next(self._ids)
            self._jobs[job.id] = job
        thread = threading.Thread(target=self._run, args=(job,), daemon=True,
                                  name=f"syncd-web-{job.kind}-{job.id}")
        self._threads.append(thread)
        thread.start()
        return job

    def _run(self, job: Job) -> None:
        engine = self.make_engine(job.actor)
        self._engines.add(engine)
        try:
            settings = engine.config.pipeline(job.pipeline)
            if job.kind == "reload":
                assert job.start is not None and job.end is not None
                stats, complete = engine.reload(settings, job.start, job.end, job.actor,
                                                _Progress(job))
                job.result = {"new": stats.new, "revised": stats.revised,
                              "unchanged": stats.unchanged, "rejected": stats.rejected}
                job.state = "finished" if complete else "interrupted"
            else:
                summary = engine.run_cycle(settings)
                # the daemon need not repeat what this job just did
                engine.store.clear_run_request(job.pipeline, job.started_at)
                job.result = {"new": summary.pulled.new, "revised": summary.pulled.revised,
                              "unchanged": summary.pulled.unchanged,
                              "rejected": summary.pulled.rejected,
                              "delivered": summary.delivery.delivered,
                              "failed": summary.delivery.failed}
                job.documents = summary.pulled.documents
                job.state = "paused" if summary.paused else "finished"
                if summary.pull_error:
                    job.error = masker().mask(summary.pull_error)
        except Exception as exc:  # shown on the page, masked; the engine logged the rest
            job.error = masker().mask(f"{type(exc).__name__}: {exc}")
            job.state = "failed"
            get_logger("syncd.web").warning("web job failed", job=job.kind,
                                            pipeline=job.pipeline, error=job.error)
        finally:
            try:
                engine.store.release(engine.owner, in_doubt=True)
            finally:
                engine.close()
                self._engines.discard(engine)

    def stop(self, timeout: float = 30.0) -> None:
        """Ask running jobs to stop after their current window or delivery, then wait."""
        for engine in list(self._engines):
            engine.stop.set()
        for thread in self._threads:
            thread.join(timeout)
