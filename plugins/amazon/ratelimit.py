"""Client-side throttling: one token bucket per SP-API operation plus the upload pacer.

Buckets start with the documented rate and burst and follow `x-amzn-RateLimit-Limit` when
Amazon sends it. They are shared per (endpoint, client id) within the process, so several
connector instances of one seller never exceed the seller's budget together.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

DOCUMENTED: dict[str, tuple[float, int]] = {
    "createReport": (0.0167, 15),
    "getReport": (2.0, 15),
    "getReportDocument": (0.0167, 15),
    "createFeedDocument": (0.5, 15),
    "createFeed": (0.0083, 15),
    "getFeed": (2.0, 15),
    "getFeedDocument": (0.0222, 10),
}
"""Requests per second and burst per operation, from the SP-API usage-plan tables."""


class TokenBucket:
    """Blocking token bucket; `acquire` returns how long it waited."""

    def __init__(self, rate: float, burst: int, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs a positive rate and a burst of at least 1")
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._stamp = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def acquire(self) -> float:
        waited = 0.0
        with self._lock:
            self._refill()
            while self._tokens < 1:
                pause = (1 - self._tokens) / self.rate
                self._sleep(pause)
                waited += pause
                self._refill()
            self._tokens -= 1
        return waited

    def set_rate(self, rate: float) -> None:
        if rate > 0:
            with self._lock:
                self._refill()
                self.rate = rate


class RateLimits:
    """The buckets of one seller's app, by operation name."""

    def __init__(self, limits: dict[str, tuple[float, int]] | None = None) -> None:
        self._buckets = {op: TokenBucket(rate, burst)
                         for op, (rate, burst) in (limits or DOCUMENTED).items()}

    def bucket(self, operation: str) -> TokenBucket | None:
        return self._buckets.get(operation)

    def acquire(self, operation: str) -> float:
        bucket = self._buckets.get(operation)
        return bucket.acquire() if bucket else 0.0

    def observe(self, operation: str, header: str | None) -> None:
        """Follow `x-amzn-RateLimit-Limit` (the rate Amazon applies, in requests/second)."""
        bucket = self._buckets.get(operation)
        if bucket is None or not header:
            return
        try:
            bucket.set_rate(float(header))
        except ValueError:
            return


class UploadPacer:
    """Never two invoice uploads closer than `interval` seconds (Amazon: one per 3 s).

    The spacing runs from the *answer* to the previous createFeed to the start of the next
    one, so Amazon, which counts arrivals, never sees two closer than `interval`, whatever the
    network latency. Uploads of one seller are serialised anyway by this limit.
    """

    def __init__(self, interval: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._last: float | None = None
        self._lock = threading.Lock()

    @contextmanager
    def slot(self) -> Iterator[float]:
        """Hold the upload slot for one createFeed; yields the seconds waited for it."""
        with self._lock:
            waited = 0.0
            if self._last is not None:
                due = self._last + self.interval - self._clock()
                if due > 0:
                    self._sleep(due)
                    waited = due
            try:
                yield waited
            finally:
                self._last = self._clock()


_shared_lock = threading.Lock()
_limits: dict[str, RateLimits] = {}
_pacers: dict[str, UploadPacer] = {}


def shared_limits(key: str) -> RateLimits:
    with _shared_lock:
        if key not in _limits:
            _limits[key] = RateLimits()
        return _limits[key]


def shared_pacer(key: str, interval: float) -> UploadPacer:
    with _shared_lock:
        pacer = _pacers.get(key)
        if pacer is None:
            pacer = _pacers[key] = UploadPacer(interval)
        pacer.interval = interval
        return pacer
