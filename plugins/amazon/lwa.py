"""Login with Amazon: exchanges the refresh token for short-lived access tokens.

The access token is cached until `expires_in` − 60 s and refreshed under a lock, so concurrent
calls share one refresh. Only `server_error` and `temporarily_unavailable` (and 5xx / network
failures) are retried; every other LWA error stops the pipeline with a message saying what to do.
Tokens never appear in logs or errors.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
from pydantic import SecretStr
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from syncd.errors import TransientError
from syncd.log import get_logger
from syncd_amazon.errors import AmazonAuthError

EARLY_REFRESH = 60.0
RETRYABLE = frozenset({"server_error", "temporarily_unavailable"})
ADVICE = {
    "invalid_grant": "the refresh token was revoked; re-authorize the app",
    "invalid_client": "client_id or client_secret is wrong; check [plugins.amazon]",
    "unauthorized_client": "the app may not use the refresh-token grant; check the app "
                           "registration",
    "invalid_request": "Login with Amazon refused the token request as malformed",
    "access_denied": "the seller denied the app access; re-authorize the app",
    "invalid_scope": "the app asked for a scope it was not granted; re-authorize the app",
}

log = get_logger("syncd_amazon.lwa")


class _Retry(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)


class LwaClient:
    """Access tokens for one app and seller, cached and refreshed on demand."""

    def __init__(self, *, token_url: str, client_id: str, client_secret: SecretStr,
                 refresh_token: SecretStr, http: httpx.Client, attempts: int = 5,
                 backoff_base: float = 1.0, backoff_max: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self._secret = client_secret
        self._refresh = refresh_token
        self._http = http
        self._attempts = attempts
        self._wait = wait_random_exponential(multiplier=backoff_base, max=backoff_max)
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self.refreshes = 0

    def access_token(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._expires_at:
                self._token, lifetime = self._fetch()
                self._expires_at = self._clock() + max(0.0, lifetime - EARLY_REFRESH)
            return self._token

    def invalidate(self, token: str) -> None:
        """Forget `token` after Amazon refused it (unless another thread already replaced it)."""
        with self._lock:
            if self._token == token:
                self._token = None

    def _fetch(self) -> tuple[str, float]:
        try:
            for attempt in Retrying(stop=stop_after_attempt(self._attempts), wait=self._wait,
                                    retry=retry_if_exception_type(_Retry), reraise=False):
                with attempt:
                    return self._request()
        except RetryError as exc:
            cause = exc.last_attempt.exception()
            raise TransientError(
                f"Login with Amazon is unavailable after {self._attempts} attempts: {cause}"
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover - Retrying always returns/raises

    def _request(self) -> tuple[str, float]:
        data = {
            "grant_type": "refresh_token",
            "refresh_token": self._refresh.get_secret_value(),
            "client_id": self.client_id,
            "client_secret": self._secret.get_secret_value(),
        }
        try:
            response = self._http.post(self.token_url, data=data,
                                       headers={"Accept": "application/json"})
        except httpx.TransportError as exc:
            raise _Retry(f"{type(exc).__name__}: {exc}") from None
        body: dict[str, Any]
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code == 200 and body.get("access_token"):
            self.refreshes += 1
            log.info("lwa token refreshed", expires_in=body.get("expires_in"))
            return str(body["access_token"]), float(body.get("expires_in") or 3600)
        error = str(body.get("error") or f"http_{response.status_code}")
        description = str(body.get("error_description") or "")
        log.warning("lwa token request failed", status=response.status_code, error=error,
                    description=description)
        if error in RETRYABLE or response.status_code >= 500:
            raise _Retry(f"{error}: {description}".strip(": "))
        advice = ADVICE.get(error, "Login with Amazon refused the refresh token")
        detail = f" ({description})" if description else ""
        raise AmazonAuthError(f"Login with Amazon: {error}: {advice}{detail}", code=error)
