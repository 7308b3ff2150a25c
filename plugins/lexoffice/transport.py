"""Builds the HTTP client for the Public API: the one place that knows where it comes from.

With the engine's shared factory (`context.http`, `syncd.http`) requests are paced by the core
limiter, one per API key across threads and (on PostgreSQL) worker processes. Without it
(scripts, older cores) a small in-process equivalent with the same semantics is used: pace
every request, retry 429 (the call was not performed), retry 5xx and timeouts only for GET.
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any, ClassVar, Protocol

import httpx

from syncd.log import get_logger

log = get_logger("syncd_lexoffice.http")
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE"})


class Requester(Protocol):
    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response: ...

    def close(self) -> None: ...


def build_client(http: Any, *, name: str, base_url: str, bearer: str, rate: float,
                 key: str, timeout: float, retries: int = 5) -> Requester:
    """The shared core client when `http` (a `syncd.http.HttpClients`) is given, else local."""
    headers = {"Accept": "application/json"}
    secret = {"Authorization": f"Bearer {bearer}"}
    if http is not None:
        from syncd.http import RateLimit  # type: ignore[import-not-found]

        return http.client(name=name, base_url=base_url, headers=headers,
                           secret_headers=secret, rate=RateLimit(rate, 1.0, key=key),
                           timeout=timeout, retries=retries)
    return LocalClient(name=name, base_url=base_url, headers={**headers, **secret},
                       limiter=Pacer.shared(key, rate), timeout=timeout, retries=retries)


class Pacer:
    """Evenly spaced slots at `rate` per second, shared per key inside this process."""

    _shared: ClassVar[dict[str, Pacer]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.next_slot = 0.0
        self.lock = threading.Lock()

    @classmethod
    def shared(cls, key: str, rate: float) -> Pacer:
        with cls._lock:
            pacer = cls._shared.get(key)
            if pacer is None or abs(pacer.interval - 1.0 / rate) > 1e-9:
                pacer = cls._shared[key] = Pacer(rate)
            return pacer

    def wait(self) -> float:
        with self.lock:
            now = time.monotonic()
            slot = max(now, self.next_slot)
            self.next_slot = slot + self.interval
        delay = slot - now
        if delay > 0:
            time.sleep(delay)
        return delay

    def penalise(self, seconds: float) -> None:
        """After a 429 the bucket is empty: nobody sends for a while."""
        with self.lock:
            self.next_slot = max(self.next_slot, time.monotonic() + seconds)


class LocalClient:
    def __init__(self, *, name: str, base_url: str, headers: dict[str, str], limiter: Pacer,
                 timeout: float, retries: int) -> None:
        self.name, self.limiter, self.retries = name, limiter, retries
        self.client = httpx.Client(base_url=base_url, headers=headers, timeout=timeout)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        method = method.upper()
        attempt = 0
        while True:
            attempt += 1
            waited = self.limiter.wait()
            started = time.monotonic()
            try:
                response = self.client.request(method, url, **kwargs)
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                log.info("http call failed", client=self.name, method=method, url=url,
                         error=type(exc).__name__, attempt=attempt)
                if method in IDEMPOTENT and attempt <= self.retries:
                    time.sleep(self._backoff(attempt))
                    continue
                raise
            log.debug("http call", client=self.name, method=method, url=url,
                      status=response.status_code, paced_wait=round(waited, 3),
                      seconds=round(time.monotonic() - started, 3))
            retry = response.status_code == 429 or (
                response.status_code >= 500 and method in IDEMPOTENT)
            if not retry or attempt > self.retries:
                return response
            pause = self._backoff(attempt)
            if response.status_code == 429:
                self.limiter.penalise(pause)
            time.sleep(pause)

    @staticmethod
    def _backoff(attempt: int) -> float:
        return min(30.0, 0.25 * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)

    def close(self) -> None:
        self.client.close()
