"""Rate limits shared by every client of one key: across threads, and on PostgreSQL across
worker processes.

The limiter is pyrate-limiter's sliding-window log: never more than `requests` calls in any
window of `per` seconds. On PostgreSQL the log lives in a table of the state database
(`PostgresBucket`, the database's clock, a table lock per put), so every worker sharing an API
key shares one budget (lexoffice: 2 requests/s per key in total). With SQLite the engine runs in
one process, so an in-memory log held per process is exact and costs nothing.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from pyrate_limiter import InMemoryBucket, Limiter, Rate
from pyrate_limiter.abstracts import AbstractBucket


@dataclass(frozen=True)
class RateLimit:
    """At most `requests` calls in any `per` seconds for everything sharing `key`.

    `key` names the remote budget, not the client: "lexoffice:<hash of the api key>" makes two
    pipelines (or two workers) using one key share it, while two keys get two budgets.
    """

    requests: int
    per: float
    key: str

    def __post_init__(self) -> None:
        if self.requests < 1 or self.per <= 0:
            raise ValueError(f"rate limit {self.key!r}: needs requests >= 1 and per > 0 "
                             f"(got {self.requests} per {self.per} s)")
        if not self.key:
            raise ValueError("a rate limit needs a key naming the remote budget")

    def rate(self) -> Rate:
        return Rate(self.requests, max(1, round(self.per * 1000)))


class Pacer:
    """One key's limiter; `acquire()` blocks until a call may start, returns seconds waited."""

    def __init__(self, limit: RateLimit, bucket: AbstractBucket) -> None:
        self.limit = limit
        self._bucket = bucket
        self._limiter = Limiter(bucket, buffer_ms=20)

    def acquire(self) -> float:
        started = time.monotonic()
        if not self._limiter.try_acquire(self.limit.key):
            raise RuntimeError(f"rate limit {self.limit.key!r} cannot admit a single call")
        return time.monotonic() - started

    def update(self, limit: RateLimit) -> None:
        """Follow a changed rate (e.g. Amazon's x-amzn-RateLimit-Limit) keeping the history."""
        if (limit.requests, limit.per) != (self.limit.requests, self.limit.per):
            self._bucket.rates = [limit.rate()]
            self.limit = limit

    def close(self) -> None:
        self._limiter.close()


def table_name(key: str) -> str:
    """A short, valid and stable table suffix for a key (keys may hold ':' or be long)."""
    slug = re.sub(r"[^a-z0-9]+", "_", key.lower()).strip("_")[:24]
    return f"{slug}_{hashlib.sha256(key.encode()).hexdigest()[:10]}"


class LimitBackend:
    """Where a process keeps its limiters; one per state database per process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pacers: dict[str, Pacer] = {}

    def pacer(self, limit: RateLimit) -> Pacer:
        with self._lock:
            pacer = self._pacers.get(limit.key)
            if pacer is None:
                pacer = self._pacers[limit.key] = Pacer(limit, self._bucket(limit))
            else:
                pacer.update(limit)
            return pacer

    def _bucket(self, limit: RateLimit) -> AbstractBucket:
        return InMemoryBucket([limit.rate()])

    def close(self) -> None:
        with self._lock:
            for pacer in self._pacers.values():
                pacer.close()
            self._pacers.clear()


class PostgresLimits(LimitBackend):
    """Limiters whose logs live in the state database: one budget across worker processes."""

    def __init__(self, url: str) -> None:
        super().__init__()
        from psycopg_pool import ConnectionPool

        self._pool: Any = ConnectionPool(_conninfo(url), min_size=1, max_size=4, open=True,
                                         name="syncd-ratelimit")

    def _bucket(self, limit: RateLimit) -> AbstractBucket:
        from pyrate_limiter import PostgresBucket

        return PostgresBucket(self._pool, table_name(limit.key), [limit.rate()])

    def close(self) -> None:
        super().close()
        self._pool.close()


def _conninfo(url: str) -> str:
    """libpq form of a SQLAlchemy URL (keeps `?options=-csearch_path=...` and the password)."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


_backends: dict[tuple[int, str], LimitBackend] = {}
_backends_lock = threading.Lock()


def backend_for(state_url: str | None) -> LimitBackend:
    """The process-wide backend for a state database (per process: a fork gets its own)."""
    is_pg = bool(state_url) and str(state_url).startswith("postgresql")
    key = (os.getpid(), str(state_url) if is_pg else "memory")
    with _backends_lock:
        backend = _backends.get(key)
        if backend is None:
            backend = _backends[key] = PostgresLimits(str(state_url)) if is_pg else LimitBackend()
            atexit.register(backend.close)  # the pool's connection and threads end cleanly
        return backend


def close_backend(state_url: str) -> None:
    """Close this process's limiters of a state database before it goes away (a test's
    schema is dropped: pyrate-limiter's leak thread would go on querying its tables)."""
    with _backends_lock:
        backend = _backends.pop((os.getpid(), str(state_url)), None)
    if backend is not None:
        backend.close()
