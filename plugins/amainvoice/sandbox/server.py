"""The Amainvoice emulator: the form-POST transport and `documentlink` PDFs on 127.0.0.1.

It answers like the remote as far as it is publicly known (spec README): a JSON list of rows
(or a single object for a one-row day when `single_object`), `Throttel is On` or
`{"error": …, "throttled": true}` above `rate` requests per `per` seconds,
`Error: Parameters not loaded [0]` when `paras` is missing or unreadable, `{"error": …}` for
wrong credentials (401), end dates not in the past and start dates older than `max_age_days`
(400). Late rows appear from the second fetch of their day on. `inject()` queues any
documented (or broken) answer for a day (`bad-row`: the day's rows with an unreadable
amount; `echo`: an error quoting the request, token included), `fail_pdf()` makes PDF
downloads fail, and every request is recorded without the
token.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import click

from syncd.testing.emulator import Emulator, EmulatorHandler, FaultQueues, RequestLog
from syncd_amainvoice.sandbox.cli import command as cli_command
from syncd_amainvoice.sandbox.dataset import Dataset
from syncd_amainvoice.sandbox.pdf import tiny_pdf

ANSWERS = ("throttle-text", "throttle-json", "error", "params", "html", "empty", "truncated",
           "server-error", "single", "object", "bad-row", "echo")


class _Handler(EmulatorHandler):
    emulator: AmainvoiceEmulator

    def dispatch(self, method: str) -> None:
        if method == "POST":
            form = parse_qs(self.read_body().decode("utf-8", errors="replace"))
            status, content_type, body, record = self.emulator.answer(form)
            self.emulator.requests.append(record)
            self.send_bytes(status, body.encode(), f"{content_type}; charset=utf-8")
            return
        path = self.path.split("?")[0]
        if path.startswith("/documents/") and path.endswith(".pdf"):
            status, data = self.emulator.pdf(path[len("/documents/"):-4])
            self.send_bytes(status, data, "application/pdf" if status == 200 else "text/html")
            return
        self.send_bytes(404, b"not found", "text/plain")


class AmainvoiceEmulator(Emulator):
    """`.start()` binds a free port on 127.0.0.1; `config_values()` points syncd at it."""

    name = "amainvoice"
    handler = _Handler
    command: ClassVar[click.Command] = cli_command

    def __init__(self, dataset: Dataset | None = None, *, host: str = "127.0.0.1",
                 port: int = 0, customer_number: str = "12345",
                 auth_token: str = "sandbox-token", rate: int = 10, per: float = 1.0,
                 throttle_style: str = "text", latency: float = 0.0,
                 max_age_days: int = 62, single_object: bool = True,
                 timezone: str = "Europe/Berlin") -> None:
        today = datetime.now(ZoneInfo(timezone)).date()
        self.dataset = dataset or Dataset(today - timedelta(days=3), 3, per_day=10)
        super().__init__(host=host, port=port)
        self.customer_number, self.auth_token = customer_number, auth_token
        self.rate, self.per, self.throttle_style = rate, per, throttle_style
        self.latency, self.max_age_days = latency, max_age_days
        self.single_object = single_object
        self.zone = ZoneInfo(timezone)
        self.lock = threading.Lock()
        self.window: deque[float] = deque()
        self.fetches: dict[str, int] = {}
        self.injected: FaultQueues[str] = FaultQueues()
        self.pdf_failures: FaultQueues[int] = FaultQueues()
        self.requests: RequestLog[dict[str, Any]] = RequestLog()
        self.pdf_requests: RequestLog[str] = RequestLog()
        self._numbers: set[str] | None = None

    # -- configuration ----------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        return f"{self.url}/amainvoiceapp.php"

    def config_values(self, **overrides: Any) -> dict[str, Any]:
        values: dict[str, Any] = {
            "enabled": True, "transport": "http", "endpoint": self.endpoint,
            "customer_number": self.customer_number, "auth_token": self.auth_token,
            "start_date": self.dataset.start.isoformat(),
            "requests_per_second": max(1.0, self.rate / self.per),
            "throttle_pause": "0.2s", "throttle_pause_max": "2s"}
        values.update(overrides)
        return values

    # -- test controls ----------------------------------------------------------------------
    def inject(self, unit: str, answers: Iterable[str]) -> None:
        """Queue answers for `unit` ("2026-11-03.inv", "today.tax" or "*" for any request)."""
        answers = list(answers)
        for answer in answers:
            if answer not in ANSWERS:
                raise ValueError(f"unknown answer {answer!r}; one of {', '.join(ANSWERS)}")
        self.injected.push(unit, *answers)

    def fail_pdf(self, number: str, statuses: Iterable[int]) -> None:
        self.pdf_failures.push(number, *statuses)

    def today(self) -> date:
        return datetime.now(self.zone).date()

    def received(self, answer: str | None = None) -> list[dict[str, Any]]:
        return self.requests.where(lambda r: answer is None or r["answer"] == answer)

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
        injected = self.injected.take(unit) or self.injected.take("*")
        if injected is None and self._throttled():
            injected = ("throttle-json" if self.throttle_style == "json" else "throttle-text")
        if injected == "echo":  # a proxy quoting the request back, token and all
            return 400, "application/json", json.dumps(
                {"error": f"cannot process paras={raw}"}), {**record, "answer": "echo"}
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
        self.pdf_requests.append(number)
        failure = self.pdf_failures.take(number)
        if failure is not None:
            return failure, b"<html>error</html>"
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
