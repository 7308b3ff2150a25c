"""The Amainvoice emulator: the form-POST transport and `documentlink` PDFs on 127.0.0.1.

It answers like the remote as far as it is publicly known (spec README): a JSON list of rows
(or a single object for a one-row day when `single_object`), `Throttel is On` or
`{"error": …, "throttled": true}` above `rate` requests per `per` seconds,
`Error: Parameters not loaded [0]` when `paras` is missing or unreadable, `{"error": …}` for
wrong credentials (401), end dates not in the past and start dates older than `max_age_days`
(400). Late rows appear from the second fetch of their day on. `inject()` queues any
documented (or broken) answer for a day (`bad-row`: the day's rows with an unreadable
amount), `fail_pdf()` makes PDF downloads fail, and every request is recorded without the
token.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import click

from syncd_amainvoice.sandbox.cli import command as cli_command
from syncd_amainvoice.sandbox.dataset import Dataset
from syncd_amainvoice.sandbox.pdf import tiny_pdf

ANSWERS = ("throttle-text", "throttle-json", "error", "params", "html", "empty", "truncated",
           "server-error", "single", "object", "bad-row")


class AmainvoiceEmulator:
    """`.start()` binds a free port on 127.0.0.1; `config_values()` points syncd at it."""

    name = "amainvoice"
    command: ClassVar[click.Command] = cli_command

    def __init__(self, dataset: Dataset | None = None, *, host: str = "127.0.0.1",
                 port: int = 0, customer_number: str = "12345",
                 auth_token: str = "sandbox-token", rate: int = 10, per: float = 1.0,
                 throttle_style: str = "text", latency: float = 0.0,
                 max_age_days: int = 62, single_object: bool = True,
                 timezone: str = "Europe/Berlin") -> None:
        today = datetime.now(ZoneInfo(timezone)).date()
        self.dataset = dataset or Dataset(today - timedelta(days=3), 3, per_day=10)
        self.host, self.port = host, port
        self.customer_number, self.auth_token = customer_number, auth_token
        self.rate, self.per, self.throttle_style = rate, per, throttle_style
        self.latency, self.max_age_days = latency, max_age_days
        self.single_object = single_object
        self.zone = ZoneInfo(timezone)
        self.lock = threading.Lock()
        self.window: deque[float] = deque()
        self.fetches: dict[str, int] = {}
        self.injected: dict[str, deque[str]] = {}
        self.pdf_failures: dict[str, deque[int]] = {}
        self.requests: list[dict[str, Any]] = []
        self.pdf_requests: list[str] = []
        self._numbers: set[str] | None = None
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self.server is not None, "bind() or start() first"
        return f"http://{self.host}:{self.server.server_address[1]}"

    @property
    def endpoint(self) -> str:
        return f"{self.url}/amainvoiceapp.php"

    def bind(self) -> ThreadingHTTPServer:
        handler = type("Handler", (_Handler,), {"emulator": self})
        self.server = ThreadingHTTPServer((self.host, self.port), handler)
        self.server.daemon_threads = True
        return self.server

    def start(self) -> AmainvoiceEmulator:
        server = self.bind()
        self.thread = threading.Thread(target=server.serve_forever, args=(0.05,),
                                       daemon=True, name="amainvoice-emulator")
        self.thread.start()
        return self

    def serve_forever(self) -> None:
        (self.server or self.bind()).serve_forever()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def __enter__(self) -> AmainvoiceEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def config_values(self, **overrides: Any) -> dict[str, Any]:
        values: dict[str, Any] = {
            "enabled": True, "transport": "http", "endpoint": self.endpoint,
            "customer_number": self.customer_number, "auth_token": self.auth_token,
            "start_date": self.dataset.start.isoformat(),
            "requests_per_second": max(1.0, self.rate / self.per),
            "throttle_pause": "0.2s", "throttle_pause_max": "2s"}
        values.update(overrides)
        return values

    def config_toml(self) -> str:
        lines = ["[plugins.amainvoice]"]
        for key, value in self.config_values().items():
            lines.append(f"{key} = {json.dumps(value)}")
        return "\n".join(lines)

    # -- test controls ----------------------------------------------------------------------
    def inject(self, unit: str, answers: Iterable[str]) -> None:
        """Queue answers for `unit` ("2026-11-03.inv", "today.tax" or "*" for any request)."""
        for answer in answers:
            if answer not in ANSWERS:
                raise ValueError(f"unknown answer {answer!r}; one of {', '.join(ANSWERS)}")
        with self.lock:
            self.injected.setdefault(unit, deque()).extend(answers)

    def fail_pdf(self, number: str, statuses: Iterable[int]) -> None:
        with self.lock:
            self.pdf_failures.setdefault(number, deque()).extend(statuses)

    def today(self) -> date:
        return datetime.now(self.zone).date()

    def received(self, answer: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if answer is None or r["answer"] == answer]

    # -- answering --------------------------------------------------------------------------
    def _throttled(self) -> bool:
        now = time.monotonic()
        with self.lock:
            while self.window and self.window[0] <= now - self.per:
                self.window.popleft()
            if len(self.window) >= self.rate:
                return True
            self.window.append(now)
            return False

    def answer(self, form: dict[str, list[str]]) -> tuple[int, str, str, dict[str, Any]]:
        """(status, content type, body, record) for one POST."""
        record: dict[str, Any] = {"at": time.time()}
        raw = (form.get("paras") or [""])[0]
        try:
            paras = json.loads(raw)
            assert isinstance(paras, dict) and paras.get("data_type")
        except (ValueError, AssertionError):
            return 200, "text/html", "Error: Parameters not loaded [0]", {
                **record, "answer": "params"}
        kind = {"inv": "inv", "rem": "rem", "basicdatatax": "tax"}.get(paras["data_type"])
        record.update({k: paras.get(k) for k in ("data_type", "start_date", "end_date",
                                                 "firm_key_id", "json")})
        if kind is None:
            return 400, "application/json", json.dumps(
                {"error": f"unknown data_type {paras['data_type']!r}"}), {**record,
                                                                          "answer": "error"}
        if (paras.get("firm_key_id") != self.customer_number
                or paras.get("client_identifier") != self.auth_token):
            return 401, "application/json", json.dumps(
                {"error": "invalid firm_key_id or client_identifier"}), {**record,
                                                                        "answer": "auth"}
        unit = "today.tax" if kind == "tax" else f"{paras.get('start_date')}.{kind}"
        with self.lock:
            queue = self.injected.get(unit) or self.injected.get("*")
            injected = queue.popleft() if queue else None
        if injected is None and self._throttled():
            injected = ("throttle-json" if self.throttle_style == "json" else "throttle-text")
        if injected and injected not in ("single", "object", "bad-row"):
            return (*_broken(injected), {**record, "answer": injected})
        if kind == "tax":
            return 200, "application/json", json.dumps(self.dataset.tax()), {
                **record, "answer": "tax"}
        try:
            first = date.fromisoformat(paras["start_date"])
            last = date.fromisoformat(paras["end_date"])
        except (KeyError, TypeError, ValueError):
            return 200, "text/html", "Error: Parameters not loaded [0]", {
                **record, "answer": "params"}
        if last >= self.today():
            return 400, "application/json", json.dumps({"error": "end_date is not in the past"}
                                                       ), {**record, "answer": "error"}
        if first < self.today() - timedelta(days=self.max_age_days):
            return 400, "application/json", json.dumps(
                {"error": "start_date is older than two months"}), {**record,
                                                                    "answer": "refused"}
        rows: list[dict[str, str]] = []
        day = first
        while day <= last:
            name = f"{day.isoformat()}.{kind}"
            with self.lock:
                self.fetches[name] = self.fetches.get(name, 0) + 1
                fetch = self.fetches[name]
            rows += self.dataset.rows(day, kind, fetch, self.url)
            day += timedelta(days=1)
        if self.latency:
            time.sleep(self.latency)
        if injected == "bad-row" and rows:  # an amount nobody can read, in the first row
            rows[0] = {**rows[0], "itemprice": "12,3x"}
        record.update(answer="rows", rows=len(rows))
        if rows and (injected == "object" or (self.single_object and len(rows) == 1)):
            return 200, "application/json", json.dumps(rows[0], ensure_ascii=False), record
        return 200, "application/json", json.dumps(rows, ensure_ascii=False), record

    def pdf(self, number: str) -> tuple[int, bytes]:
        with self.lock:
            self.pdf_requests.append(number)
            queue = self.pdf_failures.get(number)
            if queue:
                return queue.popleft(), b"<html>error</html>"
        if self._numbers is None:
            self._numbers = self.dataset.numbers("inv") | self.dataset.numbers("rem")
        if number not in self._numbers:
            return 404, b"not found"
        title = ("Gutschrift " if number.startswith("GS") else "Rechnung ") + number
        return 200, tiny_pdf(f"{title} (SYNTHETIC Amainvoice sandbox)")


def _broken(kind: str) -> tuple[int, str, str]:
    return {
        "throttle-text": (200, "text/html", "Throttel is On"),
        "throttle-json": (429, "application/json",
                          json.dumps({"error": "Too many requests", "throttled": True})),
        "error": (400, "application/json", json.dumps({"error": "Internal processing error"})),
        "params": (200, "text/html", "Error: Parameters not loaded [0]"),
        "html": (200, "text/html", "<html><body><h1>Wartungsarbeiten</h1></body></html>"),
        "empty": (200, "application/json", ""),
        "truncated": (200, "application/json", '[{"inv_rech_nr": "R1", "itemprice": "1'),
        "server-error": (503, "text/html", "<html>503 Service Unavailable</html>"),
    }[kind]


class _Handler(BaseHTTPRequestHandler):
    emulator: ClassVar[AmainvoiceEmulator]
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()  # headers and body leave at once (no 40 ms delayed-ACK stall)
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the emulator records requests itself."""

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode("utf-8", errors="replace"))
        status, content_type, body, record = self.emulator.answer(form)
        with self.emulator.lock:
            self.emulator.requests.append(record)
        self._send(status, f"{content_type}; charset=utf-8", body.encode())

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path.startswith("/documents/") and path.endswith(".pdf"):
            status, data = self.emulator.pdf(path[len("/documents/"):-4])
            self._send(status, "application/pdf" if status == 200 else "text/html", data)
            return
        self._send(404, "text/plain", b"not found")
