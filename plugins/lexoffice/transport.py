"""Builds the HTTP client for the Public API through the core factory (`syncd.http`).

The engine hands every connector `context.http`; its limiter is shared per key by every thread
and, on PostgreSQL, by every worker process, so all pipelines using one API key stay within
lexoffice's 2 requests/s together. Outside the engine (tests, scripts) a standalone factory
is used. The core client retries 429 for every method (the call was not performed) and 5xx or
timeouts only for GET/PUT; a POST's 5xx or timeout comes back to the target, which looks the
voucher up before anything is sent again.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Protocol

import httpx

from syncd.http import HttpClients, RateLimit


class Requester(Protocol):
    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response: ...

    def close(self) -> None: ...


def rate_limit(requests_per_second: float, key: str) -> RateLimit:
    """2 → 2 per 1 s; 1.5 → 3 per 2 s (the core limiter counts whole requests)."""
    ratio = Fraction(requests_per_second).limit_denominator(10)
    return RateLimit(ratio.numerator, float(ratio.denominator), key=key)


def build_client(http: HttpClients | None, *, name: str, base_url: str, bearer: str,
                 rate: float, key: str, timeout: float, retries: int = 5) -> Requester:
    factory = http if http is not None else HttpClients.standalone()
    return factory.client(name=name, base_url=base_url, headers={"Accept": "application/json"},
                          secret_headers={"Authorization": f"Bearer {bearer}"},
                          rate=rate_limit(rate, key), timeout=timeout, retries=retries)
