"""Login with Amazon: exchanges the refresh token for short-lived access tokens.

The access token is cached until `expires_in` − 60 s and refreshed under a lock, so concurrent
calls share one refresh. The token request goes through the core HTTP client, which retries
429 (honouring Retry-After), 5xx and network errors with backoff. What is left afterwards is
told apart strictly: only LWA's documented credential answers (`invalid_grant`,
`invalid_client`, and the grants the app or seller must fix: `unauthorized_client`,
`access_denied`, `invalid_scope`, `invalid_request`) stop the pipeline; a throttle, an outage
or an answer that is not LWA's JSON is transient, so a busy LWA never passes for a revoked
token. Tokens never appear in logs or errors.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
from pydantic import SecretStr

from syncd.connectors import retry_after_seconds
from syncd.errors import TransientError
from syncd.http import HttpClient
from syncd.log import get_logger
from syncd_amazon.errors import AmazonAuthError

EARLY_REFRESH = 60.0
ADVICE = {
    "invalid_grant": "the refresh token was revoked; re-authorize the app",
    "invalid_client": "client_id or client_secret is wrong; check [plugins.amazon]",
    "unauthorized_client": "the app may not use the refresh-token grant; check the app "
                           "registration",
    "invalid_request": "Login with Amazon refused the token request as malformed",
    "access_denied": "the seller denied the app access; re-authorize the app",
    "invalid_scope": "the app asked for a scope it was not granted; re-authorize the app",
}
"""LWA's credential errors: retrying cannot help, the operator must act."""

log = get_logger("syncd_amazon.lwa")


class LwaClient:
    """Access tokens for one app and seller, cached and refreshed on demand."""

    def __init__(self, *, token_url: str, client_id: str, client_secret: SecretStr,
                 refresh_token: SecretStr, http: HttpClient, attempts: int = 5,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self._secret = client_secret
        self._refresh = refresh_token
        self._http = http
        self._attempts = attempts
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

    def close(self) -> None:
        self._http.close()

    def _fetch(self) -> tuple[str, float]:
        data = {
            "grant_type": "refresh_token",
            "refresh_token": self._refresh.get_secret_value(),
            "client_id": self.client_id,
            "client_secret": self._secret.get_secret_value(),
        }
        try:
            # a token request changes nothing at Amazon: safe to repeat after a 5xx
            response = self._http.post(self.token_url, data=data, retry_unsafe=True,
                                       headers={"Accept": "application/json"})
        except httpx.TransportError as exc:
            raise TransientError(f"Login with Amazon is unavailable after {self._attempts} "
                                 f"attempts: {type(exc).__name__}: {exc}",
                                 code="LwaUnavailable") from None
        body: dict[str, Any]
        try:
            parsed = response.json()
            body = parsed if isinstance(parsed, dict) else {}
        except ValueError:
            body = {}
        if response.status_code == 200 and body.get("access_token"):
            self.refreshes += 1
            log.info("lwa token refreshed", expires_in=body.get("expires_in"))
            return str(body["access_token"]), float(body.get("expires_in") or 3600)
        error = str(body.get("error") or "")
        description = str(body.get("error_description") or "")
        log.warning("lwa token request failed", status=response.status_code,
                    error=error or None, description=description or None)
        if response.status_code == 429:  # whatever the body says: a throttle, not a verdict
            raise TransientError(
                f"Login with Amazon throttled the token request (HTTP 429, {self._attempts} "
                "attempts with backoff); retried later, the credentials are not in question",
                code="LwaThrottled", retry_after=retry_after_seconds(response))
        if error in ADVICE and response.status_code < 500:
            detail = f" ({description})" if description else ""
            raise AmazonAuthError(f"Login with Amazon: {error}: {ADVICE[error]}{detail}",
                                  code=error)
        what = f"{error}: {description}".strip(": ") or (
            f"HTTP {response.status_code}, " + ("not LWA's JSON" if not body else "no error code"))
        raise TransientError(f"Login with Amazon is unavailable after {self._attempts} "
                             f"attempts: {what}", code=error or f"Lwa{response.status_code}")
