"""The emulator's SP-API and LWA operations, mixed into its request handler.

Each `op_<operation>(match, parts, raw, request_id)` returns (status, JSON body, headers,
raw payload or None); `HttpError` answers with Amazon's error list. Request bodies are checked
(`_json`: the official models or the emulator's own required-field checks), the access token,
role and rate limits by `_authorize`.
"""

from __future__ import annotations

import gzip
import json
import re
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from syncd_amazon.processing_report import ReportError, render
from syncd_amazon.sandbox.judge import judge
from syncd_amazon.sandbox.state import Feed, FeedDocument, Report

REPORT_TYPE = "GET_FLAT_FILE_VAT_INVOICE_DATA_REPORT"
FEED_TYPE = "UPLOAD_VAT_INVOICE"
MAX_WINDOW = timedelta(days=30)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class HttpError(Exception):
    def __init__(self, status: int, code: str, message: str, details: str = "") -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details

    def body(self) -> dict[str, Any]:
        error = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"errors": [error]}


class Operations:
    """LWA, Reports, presigned files and Feeds; `emulator` and `headers` come from the handler."""

    emulator: Any
    headers: Any

    def _json(self, raw: bytes, operation: str) -> dict[str, Any]:
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            raise HttpError(400, "InvalidInput", "the request body is not JSON") from None
        violations = self.emulator.specs.request(operation, body)
        if violations:
            with self.emulator.state.lock:
                self.emulator.state.spec_violations.extend(
                    f"request {operation}: {v}" for v in violations)
            raise HttpError(400, "InvalidInput", "the request does not match the model",
                            "; ".join(violations))
        if not isinstance(body, dict):
            raise HttpError(400, "InvalidInput", "the request body must be an object")
        return body

    def _authorize(self, operation: str) -> None:
        state = self.emulator.state
        token = self.headers.get("x-amz-access-token")
        with state.lock:
            expiry = state.tokens.get(token or "")
            forced = state.throttle_next.get(operation, 0)
            if forced:
                state.throttle_next[operation] = forced - 1
        if expiry is None:
            raise HttpError(403, "Unauthorized", "Access to requested resource is denied.",
                            "The access token you provided is revoked, malformed or invalid.")
        if expiry < time.monotonic():
            raise HttpError(403, "Unauthorized", "Access to requested resource is denied.",
                            "The access token you provided has expired.")
        if "tax_invoicing" not in state.roles:
            raise HttpError(403, "Unauthorized", "Access to requested resource is denied.")
        allowed = self.emulator.buckets[operation].take()
        if forced or not allowed:
            raise HttpError(429, "QuotaExceeded",
                            "You exceeded your quota for the requested resource.")

    # LWA -----------------------------------------------------------------------------------
    def op_token(self, match: re.Match[str], parts: Any, raw: bytes,
                 rid: str) -> tuple[int, Any, dict[str, str], bytes | None]:
        form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
        emu, state = self.emulator, self.emulator.state
        with state.lock:
            failure = state.lwa_failures.pop(0) if state.lwa_failures else None
        if failure == "throttled":  # LWA's own throttle: 429, a text body, no error code
            return 429, None, {"Content-Type": "text/plain"}, b"Rate exceeded"
        if failure:
            status = 503 if failure == "temporarily_unavailable" else 500
            if failure not in ("server_error", "temporarily_unavailable"):
                status = 400
            return status, {"error": failure, "error_description": f"injected {failure}"}, {}, None
        if form.get("grant_type") != "refresh_token":
            return 400, {"error": "unsupported_grant_type",
                         "error_description": "grant_type must be refresh_token"}, {}, None
        if form.get("client_id") != emu.client_id or form.get("client_secret") != \
                emu.client_secret:
            return 401, {"error": "invalid_client",
                         "error_description": "Client authentication failed"}, {}, None
        if state.revoked or form.get("refresh_token") != emu.refresh_token:
            return 400, {"error": "invalid_grant",
                         "error_description": "The request has an invalid grant parameter : "
                                              "refresh_token"}, {}, None
        token = "Atza|" + secrets.token_urlsafe(24)
        with state.lock:
            state.tokens[token] = time.monotonic() + state.token_lifetime
            state.tokens_issued += 1
        return 200, {"access_token": token, "token_type": "bearer",
                     "expires_in": state.token_lifetime}, {}, None

    # Reports -------------------------------------------------------------------------------
    def op_createReport(self, match: re.Match[str], parts: Any, raw: bytes,
                        rid: str) -> tuple[int, Any, dict[str, str], None]:
        self._authorize("createReport")
        body = self._json(raw, "createReport")
        if body["reportType"] != REPORT_TYPE:
            raise HttpError(400, "InvalidInput", f"unsupported reportType {body['reportType']}")
        options = dict(body.get("reportOptions") or {})
        try:
            start = _parse_time(body.get("dataStartTime"))
            end = _parse_time(body.get("dataEndTime"))
        except ValueError:
            raise HttpError(400, "InvalidInput", "dataStartTime/dataEndTime are not ISO 8601") \
                from None
        if options.get("ReportOption=All", "").lower() == "true":
            if start is None or end is None:
                raise HttpError(400, "InvalidInput",
                                "ReportOption=All needs dataStartTime and dataEndTime")
            if end < start or end - start > MAX_WINDOW:
                raise HttpError(400, "InvalidInput",
                                "the date range must not exceed 30 days")
        report = Report(self.emulator.state.next_id(), list(body["marketplaceIds"]), options,
                        start, end, datetime.now(UTC))
        with self.emulator.state.lock:
            self.emulator.state.reports[report.report_id] = report
        return 202, {"reportId": report.report_id}, {}, None

    def op_getReport(self, match: re.Match[str], parts: Any, raw: bytes,
                     rid: str) -> tuple[int, Any, dict[str, str], None]:
        self._authorize("getReport")
        state = self.emulator.state
        with state.lock:
            report = state.reports.get(match["id"])
            if report is None:
                raise HttpError(404, "NotFound", f"report {match['id']} not found")
            report.polls += 1
            if report.status in ("IN_QUEUE", "IN_PROGRESS"):
                if report.polls < state.report_polls:
                    report.status = "IN_PROGRESS"
                else:
                    self._finish_report(report)
            body: dict[str, Any] = {
                "reportId": report.report_id, "reportType": REPORT_TYPE,
                "marketplaceIds": report.marketplace_ids, "processingStatus": report.status,
                "createdTime": _iso(report.created),
            }
            if report.start:
                body["dataStartTime"] = _iso(report.start)
            if report.end:
                body["dataEndTime"] = _iso(report.end)
            if report.document_id:
                body["reportDocumentId"] = report.document_id
            if report.status in ("DONE", "CANCELLED", "FATAL"):
                body["processingEndTime"] = _iso(datetime.now(UTC))
        return 200, body, {}, None

    def _finish_report(self, report: Report) -> None:
        state = self.emulator.state
        if state.report_fatal is not None:
            report.status = "FATAL"
            report.document_id = self.emulator.store_file(
                state.report_fatal.encode(), "text/plain; charset=UTF-8")
            state.report_fatal = None
            return
        if state.report_body is not None:  # a knob: exactly these bytes, even 0 of them
            data, state.report_body = state.report_body, None
            report.document_id = self.emulator.store_file(data, state.report_content_type)
            report.status = "DONE"
            return
        data = state.render_vidr(report)
        if not data:
            report.status = "CANCELLED"
            return
        compression = None
        if state.report_gzip:
            data, compression = gzip.compress(data), "GZIP"
        report.document_id = self.emulator.store_file(data, state.report_content_type,
                                                      compression)
        report.status = "DONE"

    def op_getReportDocument(self, match: re.Match[str], parts: Any, raw: bytes,
                             rid: str) -> tuple[int, Any, dict[str, str], None]:
        self._authorize("getReportDocument")
        with self.emulator.state.lock:
            stored = self.emulator.state.files.get(match["id"])
            if stored is None:
                raise HttpError(404, "NotFound", f"report document {match['id']} not found")
            stored.expires = time.monotonic() + self.emulator.state.url_ttl
        body = {"reportDocumentId": match["id"], "url": self.emulator.file_url(match["id"])}
        if stored.compression:
            body["compressionAlgorithm"] = stored.compression
        return 200, body, {}, None

    # presigned files -----------------------------------------------------------------------
    def op_download(self, match: re.Match[str], parts: Any, raw: bytes,
                    rid: str) -> tuple[int, Any, dict[str, str], bytes | None]:
        with self.emulator.state.lock:
            stored = self.emulator.state.files.get(match["id"])
        if stored is None:
            return 404, None, {"Content-Type": "application/xml"}, b"<Error>NoSuchKey</Error>"
        if stored.expires < time.monotonic():
            return 403, None, {"Content-Type": "application/xml"}, \
                b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
        return 200, None, {"Content-Type": stored.content_type}, stored.data

    def op_upload(self, match: re.Match[str], parts: Any, raw: bytes,
                  rid: str) -> tuple[int, Any, dict[str, str], bytes]:
        state = self.emulator.state
        with state.lock:
            doc = state.feed_documents.get(match["id"])
            if doc is None:
                return 404, None, {"Content-Type": "application/xml"}, b"<Error>NoSuchKey</Error>"
            if doc.expires < time.monotonic():
                return 403, None, {"Content-Type": "application/xml"}, \
                    b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message>" \
                    b"</Error>"
            doc.data = raw
            doc.uploaded_content_type = self.headers.get("Content-Type")
        return 200, None, {"Content-Type": "application/xml"}, b""

    # Feeds ---------------------------------------------------------------------------------
    def op_createFeedDocument(self, match: re.Match[str], parts: Any, raw: bytes,
                              rid: str) -> tuple[int, Any, dict[str, str], None]:
        self._authorize("createFeedDocument")
        body = self._json(raw, "createFeedDocument")
        state = self.emulator.state
        doc_id = f"amzn1.tortuga.4.eu.{uuid.uuid4()}"
        with state.lock:
            state.feed_documents[doc_id] = FeedDocument(
                doc_id, str(body["contentType"]), time.monotonic() + state.url_ttl)
        return 201, {"feedDocumentId": doc_id, "url": self.emulator.file_url(doc_id)}, {}, None

    def op_createFeed(self, match: re.Match[str], parts: Any, raw: bytes,
                      rid: str) -> tuple[int, Any, dict[str, str], None]:
        self._authorize("createFeed")
        body = self._json(raw, "createFeed")
        state = self.emulator.state
        now = time.monotonic()
        with state.lock:
            if body["feedType"] == FEED_TYPE:
                last = state.createfeed_times[-1] if state.createfeed_times else None
                if last is not None and now - last < state.upload_interval:
                    raise HttpError(429, "QuotaExceeded",
                                    "You exceeded your quota for the requested resource.",
                                    "UPLOAD_VAT_INVOICE allows one upload every 3 seconds")
                state.createfeed_times.append(now)
            if body["inputFeedDocumentId"] not in state.feed_documents:
                raise HttpError(400, "InvalidInput",
                                f"unknown inputFeedDocumentId {body['inputFeedDocumentId']}")
            feed = Feed(state.next_id(), body["feedType"], list(body["marketplaceIds"]),
                        body["inputFeedDocumentId"], dict(body.get("feedOptions") or {}),
                        datetime.now(UTC), now)
            if feed.feed_type == FEED_TYPE:
                judge(self.emulator, feed)
            state.feeds[feed.feed_id] = feed
        return 202, {"feedId": feed.feed_id}, {}, None

    def op_getFeed(self, match: re.Match[str], parts: Any, raw: bytes,
                   rid: str) -> tuple[int, Any, dict[str, str], None]:
        self._authorize("getFeed")
        state = self.emulator.state
        with state.lock:
            feed = state.feeds.get(match["id"])
            if feed is None:
                raise HttpError(404, "NotFound", f"feed {match['id']} not found")
            feed.polls += 1
            if feed.status in ("IN_QUEUE", "IN_PROGRESS"):
                if feed.polls < state.feed_polls:
                    feed.status = "IN_PROGRESS"
                else:
                    feed.status = "DONE"
                    report = render(1, [ReportError(c, "Error", m) for c, m in feed.errors],
                                    shipping_id=feed.shipping_id)
                    feed.result_document_id = self.emulator.store_file(report, "text/plain")
            body: dict[str, Any] = {
                "feedId": feed.feed_id, "feedType": feed.feed_type,
                "marketplaceIds": feed.marketplace_ids, "createdTime": _iso(feed.created),
                "processingStatus": feed.status,
            }
            if feed.result_document_id:
                body["resultFeedDocumentId"] = feed.result_document_id
                body["processingEndTime"] = _iso(datetime.now(UTC))
        return 200, body, {}, None

    def op_getFeedDocument(self, match: re.Match[str], parts: Any, raw: bytes,
                           rid: str) -> tuple[int, Any, dict[str, str], None]:
        self._authorize("getFeedDocument")
        with self.emulator.state.lock:
            stored = self.emulator.state.files.get(match["id"])
            if stored is None:
                raise HttpError(404, "NotFound", f"feed document {match['id']} not found")
            stored.expires = time.monotonic() + self.emulator.state.url_ttl
        return 200, {"feedDocumentId": match["id"],
                     "url": self.emulator.file_url(match["id"])}, {}, None
