"""The HTTP client every connector uses: httpx with timeouts, pacing, retries and safe logs.

Retry rules, chosen so a retry never performs a request twice:
- 429 is always retried: the remote refused without acting. `Retry-After` (seconds or an
  HTTP date) is honoured; longer than `max_retry_after` and the answer is handed back at once
  so the engine reschedules the delivery instead of a worker sleeping for it.
- 5xx, read/write timeouts and broken connections only for idempotent methods (GET, HEAD,
  OPTIONS, PUT, DELETE) unless `retry_unsafe=True`: a POST may have been performed.
- A connection that could not be opened (refused, connect timeout, pool timeout) is retried for
  every method: nothing was sent.
Other answers come back as they are (no exception for a status code); an exhausted transport
error is re-raised as the httpx exception (`syncd.connectors.classify_error` knows them).

Each attempt takes a slot from the client's `RateLimit` (or a per-request one) first, then is
logged as one line: client, method, host + path (query values of secret-looking parameters
masked), status, milliseconds, seconds waited for the limiter. Headers are never logged;
`secret_headers` values are also registered with the log masker, so an error that echoes one
is masked too.
"""

from __future__ import annotations

import re
import ssl
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from typing import Any

import httpx
from pydantic import SecretStr
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    retry_if_result,
    stop_after_attempt,
    wait_random_exponential,
)

from syncd.connectors import retry_after_seconds
from syncd.http.limits import LimitBackend, Pacer, RateLimit, backend_for
from syncd.log import get_logger, masker

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
UNSAFE_RETRY_STATUS = frozenset({408, 500, 502, 503, 504})
SECRET_PARAM = re.compile(r"(?i)token|key|secret|passw|signature|credential|auth|sig$|session")
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
MAYBE_SENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)

log = get_logger("syncd.http")

SecretValue = str | SecretStr


def _plain(value: SecretValue) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def register_secrets(values: Iterable[SecretValue]) -> None:
    """Tell the log masker about header values (and the token after a 'Bearer ' prefix)."""
    found: list[str] = []
    for value in values:
        text = _plain(value)
        found.append(text)
        found.extend(part for part in text.split() if len(part) >= 8)
    masker().add(found)


def display_url(url: httpx.URL, secret_params: frozenset[str] = frozenset()) -> str:
    """host[:port]/path?query with the values of secret-looking parameters replaced by ***."""
    port = f":{url.port}" if url.port else ""
    shown = f"{url.host}{port}{url.path}"
    if url.query:
        pairs = [f"{k}={'***' if SECRET_PARAM.search(k) or k.lower() in secret_params else v}"
                 for k, v in url.params.multi_items()]
        shown += "?" + "&".join(pairs)
    return shown


@cache
def tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process (certifi's CAs, as httpx uses by default).

    Building it loads the CA bundle (~0.1 s); sharing it makes a new client cheap.
    """
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


class HttpClient:
    """One remote's client; thread-safe (httpx.Client is), close it when the connector closes."""

    def __init__(self, name: str, http: httpx.Client, *, pacer: Pacer | None,
                 backend: LimitBackend, retries: int, retry_unsafe: bool, backoff_base: float,
                 backoff_max: float, max_retry_after: float,
                 secret_params: frozenset[str]) -> None:
        self.name = name
        self.http = http
        self.pacer = pacer
        self._backend = backend
        self.retries = retries
        self.retry_unsafe = retry_unsafe
        self.max_retry_after = max_retry_after
        self._secret_params = secret_params
        self._backoff = wait_random_exponential(multiplier=backoff_base, max=backoff_max)

    # public API --------------------------------------------------------------------------
    def request(self, method: str, url: str | httpx.URL, *,
                secret_headers: Mapping[str, SecretValue] | None = None,
                rate: RateLimit | None = None, retry_unsafe: bool | None = None,
                retries: int | None = None, stream: bool = False,
                **kwargs: Any) -> httpx.Response:
        """Send with pacing and the retry rules above; `rate` overrides the client's limit.

        With `stream=True` the body is not read (close the response; see `stream()`).
        """
        method = method.upper()
        headers = dict(kwargs.pop("headers", None) or {})
        if secret_headers:
            register_secrets(secret_headers.values())
            headers.update({k: _plain(v) for k, v in secret_headers.items()})
        request = self.http.build_request(method, url, headers=headers, **kwargs)
        pacer = self._backend.pacer(rate) if rate is not None else self.pacer
        unsafe_ok = method in IDEMPOTENT or (
            self.retry_unsafe if retry_unsafe is None else retry_unsafe)
        attempts = 1 + (self.retries if retries is None else retries)
        shown = display_url(request.url, self._secret_params)

        def retry_status(response: httpx.Response) -> bool:
            return response.status_code == 429 or (
                unsafe_ok and response.status_code in UNSAFE_RETRY_STATUS)

        def retry_error(exc: BaseException) -> bool:
            return isinstance(exc, NOT_SENT) or (unsafe_ok and isinstance(exc, MAYBE_SENT))

        def stop_long_wait(state: RetryCallState) -> bool:
            after = self._retry_after(state)
            return after is not None and after > self.max_retry_after

        def before_sleep(state: RetryCallState) -> None:
            outcome = state.outcome
            assert outcome is not None
            status: Any = "error"
            if outcome.failed:
                status = type(outcome.exception()).__name__
            else:
                response = outcome.result()
                status = response.status_code
                if stream:
                    response.close()
            log.warning("http call will be retried", client=self.name, method=method,
                        url=shown, status=status, attempt=state.attempt_number,
                        sleep=round(state.next_action.sleep, 3) if state.next_action else None)

        retrying = Retrying(
            stop=stop_after_attempt(attempts) | stop_long_wait,
            wait=self._wait, before_sleep=before_sleep,
            retry=retry_if_result(retry_status) | retry_if_exception(retry_error),
            retry_error_callback=lambda state: state.outcome.result(),  # type: ignore[union-attr]
        )
        return retrying(self._attempt, request, pacer, shown, stream)

    def get(self, url: str | httpx.URL, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str | httpx.URL, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str | httpx.URL, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def delete(self, url: str | httpx.URL, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    @contextmanager
    def stream(self, method: str, url: str | httpx.URL, **kwargs: Any) -> Iterator[httpx.Response]:
        """`request(..., stream=True)` closed afterwards; for large downloads."""
        response = self.request(method, url, stream=True, **kwargs)
        try:
            yield response
        finally:
            response.close()

    def close(self) -> None:
        self.http.close()

    # internals ---------------------------------------------------------------------------
    @staticmethod
    def _retry_after(state: RetryCallState) -> float | None:
        outcome = state.outcome
        if outcome is None or outcome.failed:
            return None
        return retry_after_seconds(outcome.result())

    def _wait(self, state: RetryCallState) -> float:
        after = self._retry_after(state)
        return after if after is not None else float(self._backoff(state))

    def _attempt(self, request: httpx.Request, pacer: Pacer | None, shown: str,
                 stream: bool) -> httpx.Response:
        waited = pacer.acquire() if pacer is not None else 0.0
        started = time.monotonic()
        fields = {"client": self.name, "method": request.method, "url": shown,
                  "waited_s": round(waited, 3)}
        try:
            response = self.http.send(request, stream=stream)
        except httpx.HTTPError as exc:
            log.warning("http call failed", **fields, error=type(exc).__name__,
                        ms=round((time.monotonic() - started) * 1000, 1))
            raise
        log.info("http call", **fields, status=response.status_code,
                 ms=round((time.monotonic() - started) * 1000, 1))
        return response


class HttpClients:
    """The factory on `context.http`; the engine builds it with the state database URL.

    Limiters are shared per key by every client of the process (and, on PostgreSQL, through
    the state database by every process); `standalone()` gives tests and `check()` a private
    in-memory set.
    """

    def __init__(self, state_url: str | None = None, *,
                 backend: LimitBackend | None = None) -> None:
        self.state_url = state_url
        self._backend = backend
        self._lock = threading.Lock()
        self._clients: list[HttpClient] = []

    @classmethod
    def standalone(cls) -> HttpClients:
        return cls(None, backend=LimitBackend())

    @property
    def limits(self) -> LimitBackend:
        """Created on first use, so a command that sends nothing never opens a pool."""
        with self._lock:
            if self._backend is None:
                self._backend = backend_for(self.state_url)
            return self._backend

    def pacer(self, rate: RateLimit) -> Pacer:
        """The shared limiter of `rate.key`, for pacing something that is not one request."""
        return self.limits.pacer(rate)

    def client(self, name: str, base_url: str = "", *, headers: Mapping[str, str] | None = None,
               secret_headers: Mapping[str, SecretValue] | None = None,
               rate: RateLimit | None = None, timeout: float = 30.0, retries: int = 5,
               retry_unsafe: bool = False, backoff_base: float = 0.5, backoff_max: float = 30.0,
               max_retry_after: float = 120.0, secret_params: Iterable[str] = (),
               follow_redirects: bool = False) -> HttpClient:
        """A client for one remote; `retries` are attempts after the first."""
        all_headers = {"User-Agent": "syncd", **(headers or {})}
        if secret_headers:
            register_secrets(secret_headers.values())
            all_headers.update({k: _plain(v) for k, v in secret_headers.items()})
        http = httpx.Client(base_url=base_url, headers=all_headers, verify=tls_context(),
                            timeout=httpx.Timeout(timeout), follow_redirects=follow_redirects)
        client = HttpClient(
            name, http, pacer=self.limits.pacer(rate) if rate else None, backend=self.limits,
            retries=retries, retry_unsafe=retry_unsafe, backoff_base=backoff_base,
            backoff_max=backoff_max, max_retry_after=max_retry_after,
            secret_params=frozenset(p.lower() for p in secret_params))
        with self._lock:
            self._clients.append(client)
        return client

    def close(self) -> None:
        """Close the clients this factory made (the shared limiters stay for the process)."""
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.close()
