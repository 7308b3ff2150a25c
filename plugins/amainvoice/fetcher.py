"""Fetching many (day, type) units at once, as fast as Amainvoice's throttle allows.

Xentral's module makes one call per hourly run and gives up at the first `Throttel is On`.
Here throttling is treated as a rate: a shared gate pauses every worker (exponential pause,
never shorter than a Retry-After), halves the number of requests in flight and grows it back
one by one with each success (AIMD). Only the cycle's time budget ends fetching early; units
not fetched then are simply not marked done, so the next cycle starts at the same day.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from syncd.errors import ConfigError, SyncdError, TransientError
from syncd_amainvoice.transport import Answer, Throttled, Transport, unit_name


@dataclass(frozen=True)
class Unit:
    """One request: the invoices (`inv`) or credit notes (`rem`) of a day, or `.tax`."""

    day: date | None
    kind: str

    @property
    def name(self) -> str:
        return unit_name(self.day, self.kind)

    @property
    def order(self) -> tuple[date, str]:
        """`.tax` (no day) first, then by day and type."""
        return (self.day or date.min, self.kind)


class Left(Exception):
    """The unit was not fetched because the time budget ran out (or fetching was cancelled)."""


@dataclass
class Stats:
    requests: int = 0
    throttled: int = 0
    retried: int = 0
    failed: int = 0
    left: int = 0
    rows: int = 0
    max_in_flight: int = 0
    started: float = field(default_factory=time.monotonic)


class Gate:
    """Shared pacing: requests per second, requests in flight, and pauses after throttling."""

    def __init__(self, concurrency: int, rate: float, pause: float, pause_max: float,
                 deadline: float | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = concurrency
        self.allowed = concurrency
        self.interval = 1.0 / rate
        self.pause_base, self.pause_max = pause, pause_max
        self.pause = pause
        self.deadline = deadline
        self.clock = clock
        self.cancelled = threading.Event()
        self._cond = threading.Condition()
        self._in_flight = 0
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._successes = 0

    def acquire(self, stats: Stats) -> None:
        """Wait for a slot; raise Left when the deadline passes or fetching is cancelled."""
        with self._cond:
            while True:
                now = self.clock()
                if self.cancelled.is_set() or (self.deadline is not None
                                               and now >= self.deadline):
                    raise Left()
                wake = max(self._paused_until, self._next_slot)
                if self._in_flight < self.allowed and now >= wake:
                    self._in_flight += 1
                    stats.max_in_flight = max(stats.max_in_flight, self._in_flight)
                    self._next_slot = now + self.interval
                    return
                timeout = max(0.001, wake - now) if self._in_flight < self.allowed else 0.5
                if self.deadline is not None:
                    timeout = min(timeout, max(0.001, self.deadline - now))
                self._cond.wait(timeout)

    def release(self, outcome: str, retry_after: float | None = None) -> None:
        """`outcome`: "ok", "throttled" or "failed"."""
        with self._cond:
            self._in_flight -= 1
            now = self.clock()
            if outcome == "throttled":
                wait_for = max(self.pause, retry_after or 0.0)
                self._paused_until = max(self._paused_until, now + wait_for)
                self.pause = min(self.pause * 2, self.pause_max)
                self.allowed = max(1, self.allowed // 2)
                self._successes = 0
            elif outcome == "ok":
                self.pause = self.pause_base
                self._successes += 1
                if self.allowed < self.limit and self._successes >= self.allowed:
                    self.allowed += 1
                    self._successes = 0
            self._cond.notify_all()

    def sleep(self, seconds: float) -> None:
        """Wait `seconds` unless the deadline or a cancel comes first (then raise Left)."""
        end = self.clock() + seconds
        if self.deadline is not None and end >= self.deadline:
            raise Left()
        while not self.cancelled.wait(max(0.0, min(0.5, end - self.clock()))):
            if self.clock() >= end:
                return
        raise Left()


class Fetcher:
    """Runs units on a thread pool through one `Gate`; yields (unit, answer or exception)."""

    def __init__(self, transport: Transport, *, concurrency: int, rate: float, pause: float,
                 pause_max: float, attempts: int, budget: float | None,
                 log: Any = None) -> None:
        self.transport = transport
        self.concurrency = concurrency
        self.attempts = attempts
        self.log = log
        deadline = time.monotonic() + budget if budget is not None else None
        self.gate = Gate(concurrency, rate, pause, pause_max, deadline)
        self.stats = Stats()
        self._lock = threading.Lock()

    def _one(self, unit: Unit) -> Answer | None:
        failures = 0
        while True:
            self.gate.acquire(self.stats)
            outcome, retry_after = "failed", None
            try:
                with self._lock:
                    self.stats.requests += 1
                answer = self.transport.fetch(unit.day, unit.kind)
                outcome = "ok"
                if answer is not None:
                    with self._lock:
                        self.stats.rows += len(answer.rows)
                return answer
            except Throttled as exc:
                outcome, retry_after = "throttled", exc.retry_after
                with self._lock:
                    self.stats.throttled += 1
            except TransientError:
                failures += 1
                if failures >= self.attempts:
                    raise
                with self._lock:
                    self.stats.retried += 1
            finally:
                self.gate.release(outcome, retry_after)
            if outcome == "failed":
                self.gate.sleep(min(30.0, 0.5 * 2 ** failures))

    def run(self, units: list[Unit]) -> Iterator[tuple[Unit, Answer | BaseException | None]]:
        """Results in completion order; a ConfigError cancels everything still waiting."""
        if not units:
            return
        pool = ThreadPoolExecutor(max_workers=self.concurrency,
                                  thread_name_prefix="amainvoice")
        try:
            futures: dict[Future[Answer | None], Unit] = {
                pool.submit(self._one, unit): unit for unit in units}
            pending = set(futures)
            done_count = 0
            while pending:
                finished, pending = wait(pending, timeout=5.0, return_when=FIRST_COMPLETED)
                for future in sorted(finished, key=lambda f: futures[f].order):
                    unit = futures[future]
                    done_count += 1
                    error = future.exception()
                    if isinstance(error, Left):
                        self.stats.left += 1
                        continue
                    if error is not None:
                        self.stats.failed += 1
                        if isinstance(error, ConfigError):
                            self.gate.cancelled.set()
                        yield unit, error
                        continue
                    yield unit, future.result()
                if self.log is not None and (finished and done_count % 20 == 0):
                    self.log.info("amainvoice progress", done=done_count, units=len(units),
                                  requests=self.stats.requests,
                                  throttled=self.stats.throttled)
        finally:
            self.gate.cancelled.set()
            pool.shutdown(wait=True, cancel_futures=True)

    def describe(self) -> dict[str, Any]:
        s = self.stats
        return {"requests": s.requests, "throttled": s.throttled, "retried": s.retried,
                "failed": s.failed, "left_for_next_cycle": s.left, "rows": s.rows,
                "max_in_flight": s.max_in_flight,
                "seconds": round(time.monotonic() - s.started, 3)}


def error_text(error: BaseException) -> str:
    return str(error) if isinstance(error, SyncdError) else f"{type(error).__name__}: {error}"
