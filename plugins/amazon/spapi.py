"""A small httpx client for the SP-API Reports and Feeds operations syncd uses.

Every call takes a token from its operation's bucket, sends `x-amz-access-token`, logs the
operation with its `x-amzn-RequestId` (never a token) and follows `x-amzn-RateLimit-Limit`.
429 and 5xx are retried with exponential backoff and jitter (tenacity); createFeed is retried
only on 429, because any other failure may have created the feed. A token-shaped 401/403
refreshes the access token once; any other 403 explains the missing "Tax Invoicing" role.
"""

from __future__ import annotations

import gzip
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    retry_if_result,
    stop_after_attempt,
    wait_random_exponential,
)

from syncd.errors import TransientError
from syncd.log import get_logger
from syncd_amazon.config import AmazonConfig
from syncd_amazon.errors import ROLE_MESSAGE, AmazonAuthError, SpApiError
from syncd_amazon.lwa import LwaClient
from syncd_amazon.ratelimit import RateLimits, UploadPacer, shared_limits, shared_pacer

REPORTS = "/reports/2021-06-30"
FEEDS = "/feeds/2021-06-30"
VIDR_REPORT_TYPE = "GET_FLAT_FILE_VAT_INVOICE_DATA_REPORT"
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
NOT_IDEMPOTENT = frozenset({"createFeed"})

log = get_logger("syncd_amazon.spapi")


def _errors(response: httpx.Response) -> tuple[str | None, str]:
    try:
        body = response.json()
    except ValueError:
        return None, response.text[:300]
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        text = " ".join(str(first.get(k) or "") for k in ("message", "details")).strip()
        return first.get("code"), text
    return None, response.text[:300]


def _token_shaped(response: httpx.Response) -> bool:
    if response.status_code == 401:
        return True
    _code, text = _errors(response)
    return "token" in text.lower()


class SpApiClient:
    """Reports and Feeds calls for one seller; thread-safe."""

    def __init__(self, config: AmazonConfig, *, http: httpx.Client | None = None) -> None:
        self.config = config
        self.endpoint = str(config.endpoint).rstrip("/")
        timeout = config.request_timeout.total_seconds()
        self._own_http = http is None
        self.http = http or httpx.Client(timeout=timeout, follow_redirects=False)
        base = config.backoff_base.total_seconds()
        top = config.backoff_max.total_seconds()
        self.lwa = LwaClient(
            token_url=str(config.token_url), client_id=config.client_id,
            client_secret=config.client_secret, refresh_token=config.refresh_token,
            http=self.http, attempts=config.retry_attempts, backoff_base=base, backoff_max=top,
        )
        key = f"{self.endpoint}|{config.client_id}"
        self.limits: RateLimits = shared_limits(key)
        self.pacer: UploadPacer = shared_pacer(key, config.upload_interval.total_seconds())
        self._wait = wait_random_exponential(multiplier=base, max=top)

    def close(self) -> None:
        if self._own_http:
            self.http.close()

    # generic call --------------------------------------------------------------------------
    def call(self, operation: str, method: str, path: str, *,
             json: Mapping[str, Any] | None = None,
             params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        for attempt in (1, 2):
            token = self.lwa.access_token()
            response = self._send(operation, method, path, token, json, params)
            if response.status_code in (401, 403):
                shaped = _token_shaped(response)
                if shaped and attempt == 1:
                    log.info("access token refused; refreshing once", operation=operation,
                             request_id=response.headers.get("x-amzn-RequestId"))
                    self.lwa.invalidate(token)
                    continue
                if shaped:
                    _code, text = _errors(response)
                    raise AmazonAuthError(f"{operation}: Amazon refused a freshly issued access "
                                          f"token (HTTP {response.status_code}: {text}); "
                                          "re-authorize the app", code="Unauthorized")
                raise AmazonAuthError(ROLE_MESSAGE.format(operation=operation),
                                      code="Unauthorized")
            return self._result(operation, response)
        raise AssertionError("unreachable")  # pragma: no cover

    def _result(self, operation: str, response: httpx.Response) -> dict[str, Any]:
        rid = response.headers.get("x-amzn-RequestId")
        if response.status_code in RETRY_STATUS:
            code, text = _errors(response)
            raise TransientError(f"{operation}: HTTP {response.status_code} {code or ''} after "
                                 f"{self.config.retry_attempts} attempts: {text}",
                                 code=code or str(response.status_code))
        if response.status_code >= 400:
            code, text = _errors(response)
            raise SpApiError(operation, response.status_code, code, text, rid)
        try:
            body = response.json()
        except ValueError:
            raise SpApiError(operation, response.status_code, None,
                             "the response is not JSON", rid) from None
        return body if isinstance(body, dict) else {"payload": body}

    def _send(self, operation: str, method: str, path: str, token: str,
              json: Mapping[str, Any] | None,
              params: Mapping[str, Any] | None) -> httpx.Response:
        url = self.endpoint + path
        retry_on = retry_if_result(lambda r: r.status_code == 429)
        if operation not in NOT_IDEMPOTENT:
            retry_on = (retry_if_result(lambda r: r.status_code in RETRY_STATUS)
                        | retry_if_exception_type(httpx.TransportError))

        def before_sleep(state: RetryCallState) -> None:
            outcome = state.outcome
            status = (outcome.result().status_code
                      if outcome is not None and not outcome.failed else "network error")
            log.warning("sp-api call will be retried", operation=operation, status=status,
                        attempt=state.attempt_number,
                        sleep=round(state.next_action.sleep, 3) if state.next_action else None)

        retrying = Retrying(stop=stop_after_attempt(self.config.retry_attempts),
                            wait=self._wait, retry=retry_on, before_sleep=before_sleep,
                            retry_error_callback=self._last_result)
        return retrying(self._once, operation, method, url, token, json, params)

    @staticmethod
    def _last_result(state: RetryCallState) -> httpx.Response:
        assert state.outcome is not None
        return state.outcome.result()  # re-raises the last network error, if that was it

    def _once(self, operation: str, method: str, url: str, token: str,
              json: Mapping[str, Any] | None,
              params: Mapping[str, Any] | None) -> httpx.Response:
        waited = self.limits.acquire(operation)
        started = time.monotonic()
        response = self.http.request(
            method, url, json=json, params=params,
            headers={"x-amz-access-token": token, "Accept": "application/json",
                     "User-Agent": "syncd (Language=Python)"},
        )
        self.limits.observe(operation, response.headers.get("x-amzn-RateLimit-Limit"))
        log.info("sp-api call", operation=operation, status=response.status_code,
                 request_id=response.headers.get("x-amzn-RequestId"),
                 rate_limit=response.headers.get("x-amzn-RateLimit-Limit"),
                 throttled_wait=round(waited, 3),
                 elapsed_ms=round((time.monotonic() - started) * 1000, 1))
        return response

    def verify_access(self) -> None:
        """Token and role check for `syncd check`: a getReport of a report that does not exist.

        Amazon answers 404 (or 400) when the credentials and the Tax Invoicing role are fine,
        403 when the role is missing; LWA errors surface from the token request.
        """
        try:
            self.get_report("0")
        except SpApiError as exc:
            if exc.status not in (400, 404):
                raise

    # Reports -------------------------------------------------------------------------------
    def create_report(self, marketplace_ids: list[str], *, options: dict[str, str] | None = None,
                      start: str | None = None, end: str | None = None) -> str:
        body: dict[str, Any] = {"reportType": VIDR_REPORT_TYPE, "marketplaceIds": marketplace_ids}
        if options:
            body["reportOptions"] = options
        if start:
            body["dataStartTime"] = start
        if end:
            body["dataEndTime"] = end
        return str(self.call("createReport", "POST", f"{REPORTS}/reports", json=body)["reportId"])

    def get_report(self, report_id: str) -> dict[str, Any]:
        return self.call("getReport", "GET", f"{REPORTS}/reports/{report_id}")

    def get_report_document(self, document_id: str) -> dict[str, Any]:
        return self.call("getReportDocument", "GET", f"{REPORTS}/documents/{document_id}")

    # Feeds ---------------------------------------------------------------------------------
    def create_feed_document(self, content_type: str) -> dict[str, Any]:
        return self.call("createFeedDocument", "POST", f"{FEEDS}/documents",
                         json={"contentType": content_type})

    def create_feed(self, feed_type: str, marketplace_ids: list[str], document_id: str,
                    options: Mapping[str, str]) -> str:
        body = {"feedType": feed_type, "marketplaceIds": marketplace_ids,
                "inputFeedDocumentId": document_id, "feedOptions": dict(options)}
        return str(self.call("createFeed", "POST", f"{FEEDS}/feeds", json=body)["feedId"])

    def get_feed(self, feed_id: str) -> dict[str, Any]:
        return self.call("getFeed", "GET", f"{FEEDS}/feeds/{feed_id}")

    def get_feed_document(self, document_id: str) -> dict[str, Any]:
        return self.call("getFeedDocument", "GET", f"{FEEDS}/documents/{document_id}")

    # presigned URLs (no token, no SP-API budget) -------------------------------------------
    def upload(self, url: str, data: bytes, content_type: str) -> None:
        """PUT the bytes with exactly the Content-Type given to createFeedDocument."""
        for attempt in Retrying(stop=stop_after_attempt(self.config.retry_attempts),
                                wait=self._wait, reraise=True,
                                retry=retry_if_exception_type(httpx.TransportError)):
            with attempt:
                response = self.http.put(url, content=data,
                                         headers={"Content-Type": content_type})
        if response.status_code >= 300:
            raise TransientError(f"feed document upload: HTTP {response.status_code}: "
                                 f"{response.text[:200]}", code=str(response.status_code))

    def download(self, url: str, target: Path, *, compression: str | None = None) -> str | None:
        """Stream a presigned document into `target` (gunzipped); returns its Content-Type."""
        raw = target.with_suffix(target.suffix + ".part")
        for attempt in Retrying(stop=stop_after_attempt(self.config.retry_attempts),
                                wait=self._wait, reraise=True,
                                retry=retry_if_exception_type(httpx.TransportError)):
            with attempt, self.http.stream("GET", url) as response:
                if response.status_code >= 300:
                    raise TransientError(f"document download: HTTP {response.status_code}",
                                         code=str(response.status_code))
                content_type = response.headers.get("content-type")
                with raw.open("wb") as out:
                    for chunk in response.iter_bytes(1 << 16):
                        out.write(chunk)
        with raw.open("rb") as head:
            gzipped = head.read(2) == b"\x1f\x8b"
        if (compression or "").upper() == "GZIP" or gzipped:
            with gzip.open(raw, "rb") as src, target.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            raw.unlink()
        else:
            raw.replace(target)
        return content_type
