"""Amazon's budgets on top of core's limiter (`syncd.http`): per operation, and upload pacing.

Each SP-API operation has a token bucket at Amazon (rate, burst). syncd paces each with the
core's sliding-window limiter as `burst` calls per `burst / rate` seconds (never more than
Amazon's bucket admits, the same long-run rate), keyed per (endpoint, client id, operation),
so every connector and, on PostgreSQL, every worker of one seller shares it. The rate follows
`x-amzn-RateLimit-Limit` when Amazon sends it.

Uploads: Amazon accepts one UPLOAD_VAT_INVOICE every 3 s and counts arrivals. `UploadPacer`
spaces the *answer* to one createFeed and the start of the next by `upload_interval` within the
process, whatever the latency; a core limiter of one upload per interval keeps several worker
processes apart as well.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from syncd.http import HttpClients, RateLimit

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


def as_limit(key: str, rate: float, burst: int) -> RateLimit:
    """Amazon's (rate, burst) as a core RateLimit: `burst` calls per `burst / rate` s."""
    return RateLimit(requests=burst, per=burst / rate, key=key)


class OperationLimits:
    """The current RateLimit of every operation of one seller's app."""

    def __init__(self, key: str) -> None:
        self.key = key
        self._lock = threading.Lock()
        self._limits = {op: as_limit(f"{key}:{op}", rate, burst)
                        for op, (rate, burst) in DOCUMENTED.items()}
        self._rates = {op: rate for op, (rate, _burst) in DOCUMENTED.items()}

    def limit(self, operation: str) -> RateLimit | None:
        with self._lock:
            return self._limits.get(operation)

    def rate(self, operation: str) -> float | None:
        with self._lock:
            return self._rates.get(operation)

    def observe(self, operation: str, header: str | None) -> None:
        """Follow `x-amzn-RateLimit-Limit` (the rate Amazon applies, in requests/second)."""
        if not header or operation not in DOCUMENTED:
            return
        try:
            rate = float(header)
        except ValueError:
            return
        if rate <= 0:
            return
        with self._lock:
            if rate != self._rates[operation]:
                self._rates[operation] = rate
                self._limits[operation] = as_limit(f"{self.key}:{operation}", rate,
                                                   DOCUMENTED[operation][1])


class UploadPacer:
    """Never two invoice uploads closer than `interval` seconds (Amazon: one per 3 s).

    The spacing runs from the *answer* to the previous createFeed to the start of the next
    one, so Amazon, which counts arrivals, never sees two closer than `interval`, whatever the
    network latency. `across` (a core limiter of one upload per interval) keeps worker
    processes sharing the seller apart too.
    """

    def __init__(self, interval: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep,
                 across: Callable[[], float] | None = None) -> None:
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._across = across
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
            if self._across is not None:
                waited += self._across()
            try:
                yield waited
            finally:
                self._last = self._clock()


_shared_lock = threading.Lock()
_limits: dict[str, OperationLimits] = {}
_pacers: dict[str, UploadPacer] = {}


def shared_limits(key: str) -> OperationLimits:
    with _shared_lock:
        if key not in _limits:
            _limits[key] = OperationLimits(key)
        return _limits[key]


def shared_pacer(key: str, interval: float, http: HttpClients) -> UploadPacer:
    """The process's upload pacer of one seller; across processes via the core limiter."""
    limit = RateLimit(requests=1, per=max(interval, 0.001), key=f"{key}:upload")
    with _shared_lock:
        pacer = _pacers.get(key)
        if pacer is None:
            pacer = _pacers[key] = UploadPacer(interval)
        pacer.interval = interval
        pacer._across = http.pacer(limit).acquire
        return pacer
