"""The SP-API Reports and Feeds operations syncd uses, on the core HTTP client (`syncd.http`).

The core client paces every call with its operation's limit (`ratelimit.py`), retries 429
always and 5xx / network errors for every operation except createFeed (any failure there but a
429 may have created the feed), and logs each attempt without secrets. On top, this module
sends `x-amz-access-token`, refreshes a refused token once (a token-shaped 401/403; any other
403 explains the missing "Tax Invoicing" role), follows `x-amzn-RateLimit-Limit`, logs the
operation with its `x-amzn-RequestId`, and treats an answer that is not the JSON Amazon
documents (a proxy's HTML page, a truncated body) as transient: retried with backoff, then a
`TransientError` saying what came back; so is an error status without Amazon's error list (a
proxy's 404 page). Only Amazon's own error answers (400 InvalidInput, 404 NotFound ...) are
permanent.
"""

from __future__ import annotations

import gzip
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from syncd.errors import TransientError
from syncd.http import HttpClient, HttpClients
from syncd.log import get_logger
from syncd_amazon.config import AmazonConfig
from syncd_amazon.errors import ROLE_MESSAGE, AmazonAuthError, SpApiError
from syncd_amazon.lwa import LwaClient
from syncd_amazon.ratelimit import OperationLimits, UploadPacer, shared_limits, shared_pacer

REPORTS = "/reports/2021-06-30"
FEEDS = "/feeds/2021-06-30"
VIDR_REPORT_TYPE = "GET_FLAT_FILE_VAT_INVOICE_DATA_REPORT"
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
NOT_IDEMPOTENT = frozenset({"createFeed"})
EXPECTED: dict[str, tuple[str, ...]] = {
    "createReport": ("reportId",),
    "getReport": ("reportId", "processingStatus"),
    "getReportDocument": ("url",),
    "createFeedDocument": ("feedDocumentId", "url"),
    "createFeed": ("feedId",),
    "getFeed": ("feedId", "processingStatus"),
    "getFeedDocument": ("url",),
}
"""Keys every successful answer carries (the official models' required fields we use)."""

log = get_logger("syncd_amazon.spapi")


class GarbageAnswer(TransientError):
    """A 2xx answer that is not the JSON Amazon documents; retried, never permanent."""


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


def _snippet(response: httpx.Response) -> str:
    text = response.content[:120].decode("utf-8", "replace")
    return repr(text) if text else "an empty body"


class SpApiClient:
    """Reports and Feeds calls for one seller; thread-safe."""

    def __init__(self, config: AmazonConfig, *, http: HttpClients | None = None) -> None:
        self.config = config
        self.endpoint = str(config.endpoint).rstrip("/")
        self.clients = http or HttpClients.standalone()
        base = config.backoff_base.total_seconds()
        top = config.backoff_max.total_seconds()
        common: dict[str, Any] = {
            "timeout": config.request_timeout.total_seconds(),
            "retries": config.retry_attempts - 1, "backoff_base": base, "backoff_max": top}
        self.api: HttpClient = self.clients.client(
            "amazon", self.endpoint, retry_unsafe=True,
            headers={"Accept": "application/json", "User-Agent": "syncd (Language=Python)"},
            **common)
        self.files: HttpClient = self.clients.client("amazon-files", **common)
        self.lwa = LwaClient(
            token_url=str(config.token_url), client_id=config.client_id,
            client_secret=config.client_secret, refresh_token=config.refresh_token,
            http=self.clients.client("amazon-lwa", retry_unsafe=True, **common),
            attempts=config.retry_attempts)
        key = f"amazon:{self.endpoint}|{config.client_id}"
        self.limits: OperationLimits = shared_limits(key)
        self.pacer: UploadPacer = shared_pacer(key, config.upload_interval.total_seconds(),
                                               self.clients)
        self._wait = wait_random_exponential(multiplier=base, max=top)

    def close(self) -> None:
        self.api.close()
        self.files.close()
        self.lwa.close()

    # generic call --------------------------------------------------------------------------
    def call(self, operation: str, method: str, path: str, *,
             json: Mapping[str, Any] | None = None,
             params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """One operation; garbage answers are retried unless the call may have created a feed."""
        attempts = 1 if operation in NOT_IDEMPOTENT else self.config.retry_attempts
        retrying = Retrying(stop=stop_after_attempt(attempts), wait=self._wait, reraise=True,
                            retry=retry_if_exception_type(GarbageAnswer))
        for attempt in retrying:
            with attempt:
                return self._call(operation, method, path, json, params)
        raise AssertionError("unreachable")  # pragma: no cover

    def _call(self, operation: str, method: str, path: str, json: Mapping[str, Any] | None,
              params: Mapping[str, Any] | None) -> dict[str, Any]:
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
        status = response.status_code
        if status in RETRY_STATUS:
            code, text = _errors(response)
            retried = status == 429 or operation not in NOT_IDEMPOTENT
            tries = f"after {self.config.retry_attempts} attempts" if retried else "not retried"
            raise TransientError(f"{operation}: HTTP {status}{' ' + code if code else ''} "
                                 f"({tries}): {text}", code=code or str(status))
        if status >= 400:
            code, text = _errors(response)
            if code is None:  # not Amazon's error list: a proxy's page, a cut body
                raise GarbageAnswer(
                    f"{operation}: the HTTP {status} answer is not Amazon's error JSON "
                    f"({len(response.content)} bytes, starting {_snippet(response)}); a proxy "
                    "or a cut connection may have sent it", code="GarbledAnswer")
            raise SpApiError(operation, status, code, text, rid)
        try:
            body = response.json()
        except ValueError:
            body = None
        missing = [k for k in EXPECTED.get(operation, ())
                   if not isinstance(body, dict) or k not in body]
        if missing:
            what = ("is not JSON" if body is None
                    else f"lacks {', '.join(missing)}")
            raise GarbageAnswer(
                f"{operation}: Amazon's HTTP {status} answer {what} "
                f"({len(response.content)} bytes, starting {_snippet(response)}); "
                "a proxy or a cut connection may have garbled it", code="GarbledAnswer")
        assert isinstance(body, dict)
        return body

    def _send(self, operation: str, method: str, path: str, token: str,
              json: Mapping[str, Any] | None,
              params: Mapping[str, Any] | None) -> httpx.Response:
        started = time.monotonic()
        try:
            response = self.api.request(
                method, path, json=json, params=params, rate=self.limits.limit(operation),
                secret_headers={"x-amz-access-token": token},
                retry_unsafe=operation not in NOT_IDEMPOTENT)
        except httpx.TransportError as exc:
            raise TransientError(f"{operation}: {type(exc).__name__}: {exc}",
                                 code="NetworkError") from exc
        self.limits.observe(operation, response.headers.get("x-amzn-RateLimit-Limit"))
        log.info("sp-api call", operation=operation, status=response.status_code,
                 request_id=response.headers.get("x-amzn-RequestId"),
                 rate_limit=response.headers.get("x-amzn-RateLimit-Limit"),
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
        try:
            response = self.files.put(url, content=data, headers={"Content-Type": content_type})
        except httpx.TransportError as exc:
            raise TransientError(f"feed document upload: {type(exc).__name__}: {exc}",
                                 code="NetworkError") from exc
        if response.status_code >= 300:
            raise TransientError(f"feed document upload: HTTP {response.status_code}: "
                                 f"{response.text[:200]}", code=str(response.status_code))

    def download(self, url: str, target: Path, *, compression: str | None = None) -> str | None:
        """Stream a presigned document into `target` (gunzipped); returns its Content-Type."""
        raw = target.with_suffix(target.suffix + ".part")
        try:
            content_type = self._fetch(url, raw)
        except httpx.TransportError as exc:
            raise TransientError(f"document download: {type(exc).__name__}: {exc}",
                                 code="NetworkError") from exc
        with raw.open("rb") as head:
            gzipped = head.read(2) == b"\x1f\x8b"
        if (compression or "").upper() == "GZIP" or gzipped:
            try:
                with gzip.open(raw, "rb") as src, target.open("wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
            except (OSError, EOFError) as exc:
                raise TransientError(f"document download: the gzip data is broken ({exc}); "
                                     "downloaded again on the next attempt",
                                     code="GarbledAnswer") from exc
            raw.unlink()
        else:
            raw.replace(target)
        return content_type

    def _fetch(self, url: str, raw: Path) -> str | None:
        # a body cut off mid-stream is retried here: a GET of a presigned URL is harmless
        for attempt in Retrying(stop=stop_after_attempt(self.config.retry_attempts),
                                wait=self._wait, reraise=True,
                                retry=retry_if_exception_type(httpx.TransportError)):
            with attempt, self.files.stream("GET", url) as response:
                if response.status_code >= 300:
                    raise TransientError(f"document download: HTTP {response.status_code}",
                                         code=str(response.status_code))
                with raw.open("wb") as out:
                    for chunk in response.iter_bytes(1 << 16):
                        out.write(chunk)
                return response.headers.get("content-type")
        raise AssertionError("unreachable")  # pragma: no cover
