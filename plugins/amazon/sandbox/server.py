"""The Amazon emulator: LWA, Reports and Feeds on a real HTTP server on 127.0.0.1.

It behaves like Amazon where syncd depends on it: bodies are validated against the official
models (when available), rate limits are enforced per operation (429 QuotaExceeded, no
Retry-After; `speedup` multiplies every rate and divides the 3-second upload spacing), uploads
must be PDFs sent with the Content-Type declared at createFeedDocument, and the metadata of an
UPLOAD_VAT_INVOICE is checked against the emulator's VIDR with Amazon's error codes in a
windows-1252 processing report. Accepted uploads move their shipment from pending to
InvoiceProcessing and, one report later, InvoiceUploaded; rejected ones reappear as pending
with the reason in invoice-status-description. This module holds the server, its lifecycle and
the request plumbing; the operations are in operations.py, the upload checks in judge.py.
"""

from __future__ import annotations

import json
import re
import secrets
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import click

from syncd.log import get_logger
from syncd.testing.emulator import (
    Emulator,
    EmulatorHandler,
    EmulatorServer,
    Recorded,
    TokenBucket,
    find_route,
)
from syncd.testing.emulator import specs_dir as find_specs
from syncd_amazon.ratelimit import DOCUMENTED
from syncd_amazon.sandbox.cli import command as cli_command
from syncd_amazon.sandbox.operations import HttpError, Operations
from syncd_amazon.sandbox.records import RecordsFile, snapshot
from syncd_amazon.sandbox.specs import SpecValidator
from syncd_amazon.sandbox.state import EmulatorState, StoredFile

log = get_logger("syncd_amazon.sandbox")


ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"^/auth/o2/token$"), "token"),
    ("POST", re.compile(r"^/reports/2021-06-30/reports$"), "createReport"),
    ("GET", re.compile(r"^/reports/2021-06-30/reports/(?P<id>[^/]+)$"), "getReport"),
    ("GET", re.compile(r"^/reports/2021-06-30/documents/(?P<id>[^/]+)$"), "getReportDocument"),
    ("POST", re.compile(r"^/feeds/2021-06-30/documents$"), "createFeedDocument"),
    ("POST", re.compile(r"^/feeds/2021-06-30/feeds$"), "createFeed"),
    ("GET", re.compile(r"^/feeds/2021-06-30/feeds/(?P<id>[^/]+)$"), "getFeed"),
    ("GET", re.compile(r"^/feeds/2021-06-30/documents/(?P<id>[^/]+)$"), "getFeedDocument"),
    ("GET", re.compile(r"^/files/(?P<id>[^/]+)$"), "download"),
    ("PUT", re.compile(r"^/files/(?P<id>[^/]+)$"), "upload"),
    ("GET", re.compile(r"^/_records$"), "records"),
]


class _Handler(Operations, EmulatorHandler):
    emulator: AmazonEmulator
    methods = ("GET", "POST", "PUT")

    def dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        raw = self.read_body()
        found = find_route(ROUTES, method, parts.path)
        if found is None:
            self._send_json(404, {"errors": [{"code": "NotFound",
                                              "message": f"no route {method} {parts.path}"}]},
                            "unknown", None)
            return
        operation, match = found
        request_id = str(uuid.uuid4())
        status, body_out = 500, None
        fault = self.emulator.state.fail_next.take(operation)
        try:
            if fault == "before":
                raise HttpError(500, "InternalFailure", "injected failure before processing")
            handler = getattr(self, f"op_{operation}")
            status, body_out, headers, payload = handler(match, parts, raw, request_id)
            if fault == "after":  # processed, but the caller never learns the answer
                raise HttpError(500, "InternalFailure", "injected failure after processing")
            if fault == "garbage":  # processed, answered by something that is not Amazon
                status, body_out, headers = 200, None, {"Content-Type": "text/html"}
                payload = b"<html><body>upstream proxy: truncated"
        except HttpError as exc:
            status, body_out, headers, payload = exc.status, exc.body(), {}, None
        except Exception as exc:  # an emulator bug must still answer, and say what broke
            log.exception("sandbox handler failed", operation=operation)
            status, headers, payload = 500, {}, None
            body_out = {"errors": [{"code": "InternalFailure",
                                    "message": f"{type(exc).__name__}: {exc}"}]}
        finally:
            try:
                recorded_body: Any = json.loads(raw) if raw and operation not in (
                    "upload", "token") else (len(raw) if raw else None)
            except ValueError:
                recorded_body = raw[:200]
            if operation != "records":
                self.emulator.state.record(Recorded(method, parts.path, status, operation,
                                                    recorded_body, request_id=request_id))
                if self.emulator.records_file is not None:
                    self.emulator.records_file.write(self.emulator)
        if payload is not None:
            self.send_bytes(status, payload, headers=headers)
            return
        if operation not in ("token", "download", "upload"):
            violations = self.emulator.specs.response(operation, status, body_out)
            if violations:
                with self.emulator.state.lock:
                    self.emulator.state.spec_violations.extend(
                        f"response {operation} {status}: {v}" for v in violations)
        self._send_json(status, body_out, operation, request_id, headers)

    def _send_json(self, status: int, body: Any, operation: str, request_id: str | None,
                   headers: dict[str, str] | None = None) -> None:
        """JSON with Amazon's request id and, where Amazon sends it, the rate limit header."""
        out = {}
        if request_id:
            out["x-amzn-RequestId"] = request_id
        bucket = self.emulator.buckets.get(operation)
        if bucket is not None and status in (200, 201, 202, 400, 404):
            out["x-amzn-RateLimit-Limit"] = f"{bucket.rate:g}"
        out.update(headers or {})
        self.send_json(status, body, out)

    def op_records(self, match: re.Match[str], parts: Any, raw: bytes,
                   rid: str) -> tuple[int, Any, dict[str, str], bytes]:
        data = json.dumps(self.emulator.records(), default=str).encode()
        return 200, None, {"Content-Type": "application/json"}, data


class AmazonEmulator(Emulator):
    """Start with `.start()` (random free port by default), stop with `.stop()`.

    `config_values()` gives the `[plugins.amazon]` keys that point syncd at this instance.
    """

    name = "amazon"
    handler = _Handler
    command: ClassVar[click.Command] = cli_command
    """What `syncd sandbox amazon` runs (looked up by the core's sandbox group)."""

    def __init__(self, vidr_files: Iterable[str | Path] = (), *, host: str = "127.0.0.1",
                 port: int = 0, speedup: float = 1.0, client_id: str = "sandbox-client-id",
                 client_secret: str = "sandbox-client-secret",
                 refresh_token: str = "Atzr|sandbox-refresh-token",
                 specs_dir: Path | None = None, url_ttl: float = 300.0,
                 check_pdf_text: bool = True, fresh_dates: bool = False,
                 records_file: Path | None = None) -> None:
        if speedup <= 0:
            raise ValueError("speedup must be positive")
        super().__init__(host=host, port=port)
        self.speedup = speedup
        self.client_id, self.client_secret, self.refresh_token = (client_id, client_secret,
                                                                  refresh_token)
        self.state = EmulatorState([Path(p) for p in vidr_files], speedup=speedup,
                                   upload_interval=3.0 / speedup, url_ttl=url_ttl)
        if fresh_dates:  # newest shipment two hours ago: deadlines as in a live shop
            self.state.shift_dates(datetime.now(UTC) - timedelta(hours=2))
        self.specs = SpecValidator(specs_dir if specs_dir is not None else find_specs("amazon"))
        self.check_pdf_text = check_pdf_text
        self.records_file = RecordsFile(records_file) if records_file else None
        self.buckets = {op: TokenBucket(rate * speedup, burst)
                        for op, (rate, burst) in DOCUMENTED.items()}

    def bind(self) -> EmulatorServer:
        fresh = self._server is None
        server = super().bind()
        if fresh:
            log.info("amazon sandbox listening", url=self.url, speedup=self.speedup,
                     shipments=len(self.state.groups), spec_validation=self.specs.enabled)
        return server

    def config_values(self, **overrides: Any) -> dict[str, Any]:
        """`[plugins.amazon]` keys for this emulator (intervals shrunk by the speed-up)."""
        values: dict[str, Any] = {
            "enabled": True,
            "endpoint": self.url,
            "token_url": f"{self.url}/auth/o2/token",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
            "marketplace_ids": sorted({g.marketplace_id for g in self.state.groups.values()})
            or ["A1PA6795UKMFR9"],
            "upload_interval": f"{3.0 / self.speedup:g}s",
            "report_poll_interval": "0.05s",
            "feed_poll_interval": "0.05s",
        }
        values.update(overrides)
        return values

    def records(self) -> dict[str, Any]:
        """What it received (also `GET /_records`): requests, feeds, groups, validation."""
        return snapshot(self)

    def validation_summary(self) -> str:
        """Which checks ran on the traffic and how many bodies were off, in one sentence."""
        with self.state.lock:
            return self.specs.summary(len(self.state.spec_violations))

    # helpers used by the handler -----------------------------------------------------------
    def file_url(self, file_id: str) -> str:
        return f"{self.url}/files/{file_id}?X-Amz-Expires={int(self.state.url_ttl)}" \
               f"&X-Amz-Signature={secrets.token_hex(8)}"

    def store_file(self, data: bytes, content_type: str, compression: str | None = None) -> str:
        file_id = f"amzn1.tortuga.4.eu.{uuid.uuid4()}"
        with self.state.lock:
            self.state.files[file_id] = StoredFile(
                data, content_type, time.monotonic() + self.state.url_ttl, compression)
        return file_id
