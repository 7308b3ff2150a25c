"""What the lexoffice emulator holds and records: vouchers, files, contacts, payments, faults."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as dtime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from syncd.testing.emulator import Recorded, RequestLog, TokenBucket
from syncd_lexoffice import categories as names

BERLIN = ZoneInfo("Europe/Berlin")
KNOWN_NAMES = [names.GOODS, "Dienstleistungen", "Einnahmen", names.INTRA_EU,
               names.REVERSE_CHARGE, names.EXPORT, "Dienstleistungen an Drittländer",
               names.SMALL_BUSINESS, names.DISTANCE_ORIGIN, "Elektronische Dienstleistungen",
               names.DISTANCE_DESTINATION,
               "Elektronische Dienstleistung in EU-Land steuerpflichtig"]


def load_categories(specs_dir: Path | None) -> tuple[list[dict[str, Any]], str]:
    """The sales categories from the shared spec file, else the same names with made-up ids."""
    path = specs_dir / "posting-categories-sales.json" if specs_dir else None
    if path is not None and path.is_file():
        rows = json.loads(path.read_text(encoding="utf-8"))["categories"]
        pairs, origin = [(r["id"], r["name"]) for r in rows], str(path)
    else:
        pairs = [(str(uuid.uuid5(uuid.NAMESPACE_URL, f"syncd-lexoffice:{n}")), n)
                 for n in KNOWN_NAMES]
        origin = "built-in names with emulator ids (spec file absent)"
    return [{"id": cid, "name": name, "type": "income", "contactRequired": name in
             names.CONTACT_REQUIRED, "splitAllowed": name != names.SMALL_BUSINESS,
             "groupName": "Einnahmen"} for cid, name in pairs], origin


def berlin_stamp(day: date | datetime) -> str:
    moment = day if isinstance(day, datetime) else datetime.combine(day, dtime(), BERLIN)
    return moment.astimezone(BERLIN).isoformat(timespec="milliseconds")


@dataclass
class Fault:
    """Answer `status` to requests matching `method path`; `after_effect`: do the work first."""

    method: str
    path: re.Pattern[str]
    status: int
    after_effect: bool = True
    remaining: int = 1
    every: int = 1
    seen: int = 0
    delay: float = 0.0
    """With status 0: answer normally, but only after `delay` seconds (a client timeout)."""


@dataclass
class Voucher:
    id: str
    body: dict[str, Any]
    created: datetime
    version: int = 1
    files: list[str] = field(default_factory=list)
    paid: Decimal = Decimal(0)
    paid_date: str | None = None

    @property
    def gross(self) -> Decimal:
        return Decimal(str(self.body["totalGrossAmount"]))

    @property
    def status(self) -> str:
        return "paid" if self.paid >= self.gross else self.body.get("voucherStatus", "open")

    def row(self) -> dict[str, Any]:
        return {"id": self.id, "voucherType": self.body["type"], "voucherStatus": self.status,
                "voucherNumber": self.body.get("voucherNumber"),
                "voucherDate": berlin_stamp(date.fromisoformat(self.body["voucherDate"][:10])),
                "createdDate": berlin_stamp(self.created),
                "updatedDate": berlin_stamp(self.created),
                "dueDate": berlin_stamp(date.fromisoformat(
                    (self.body.get("dueDate") or self.body["voucherDate"])[:10])),
                "contactId": self.body.get("contactId"),
                "contactName": self.body.get("contactName") or "Sammelkunde",
                "totalAmount": float(self.gross), "openAmount": float(self.gross - self.paid),
                "currency": "EUR", "archived": False}


class EmulatorState:
    def __init__(self, *, api_key: str, rate: float, window: int, specs_dir: Path | None,
                 login_email: str, login_password: str, small_business: bool = False,
                 destination_principle: bool = False) -> None:
        self.lock = threading.RLock()
        self.api_key = api_key
        self.key_valid = True
        self.bucket = TokenBucket(rate)
        self.window = window
        self.number_filter = "exact"
        """How voucherlist applies `voucherNumber` (disputed, NOTES 1.6): "exact" after
        decoding the HTML entities, "ignored", or "undecoded" (compares the escaped text)."""
        self.categories, self.categories_origin = load_categories(specs_dir)
        self.profile = {"organizationId": str(uuid.uuid4()), "companyName": "Sandbox GmbH",
                        "taxType": "gross", "smallBusiness": small_business,
                        "distanceSalesPrinciple": "DESTINATION" if destination_principle
                        else "ORIGIN"}
        self.vouchers: dict[str, Voucher] = {}
        self.files: dict[str, tuple[str, str, bytes]] = {}  # sha256 -> (file id, voucher, data)
        self.contacts: dict[str, dict[str, Any]] = {}
        self.received: RequestLog[Recorded] = RequestLog()
        self.faults: list[Fault] = []
        self.violations: list[str] = []
        self.login_email, self.login_password = login_email, login_password
        self.login_challenge = False
        self.sessions: set[str] = set()
        self.payments: list[dict[str, Any]] = []
        self.logins = 0

    # faults ----------------------------------------------------------------------------------
    def inject(self, method: str, path: str, status: int, *, after_effect: bool = True,
               times: int = 1, every: int = 1, delay: float = 0.0) -> Fault:
        """Answer `status` to the next `times` matching requests (every `every`-th one);
        status 0 with `delay` answers normally but late (after the work is done)."""
        fault = Fault(method.upper(), re.compile(path), status, after_effect, times, every,
                      delay=delay)
        with self.lock:
            self.faults.append(fault)
        return fault

    def fault_for(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.remaining > 0 and fault.method == method and fault.path.search(path):
                    fault.seen += 1
                    if fault.seen % fault.every == 0:
                        fault.remaining -= 1
                        return fault
        return None

    def record(self, method: str, path: str, status: int, note: str = "") -> None:
        self.received.append(Recorded(method, path, status, note=note))

    # counts for tests and the benchmark ------------------------------------------------------
    def count(self, method: str | None = None, prefix: str = "/v1/",
              status: int | None = None) -> int:
        return len(self.received.where(lambda r: r.path.startswith(prefix)
                                       and (method is None or r.method == method)
                                       and (status is None or r.status == status)))

    def by_number(self, number: str) -> list[Voucher]:
        with self.lock:
            return [v for v in self.vouchers.values() if v.body.get("voucherNumber") == number]

    # data ------------------------------------------------------------------------------------
    def category(self, cid: str) -> dict[str, Any] | None:
        return next((c for c in self.categories if c["id"] == cid), None)

    def add_voucher(self, body: dict[str, Any]) -> Voucher:
        with self.lock:
            voucher = Voucher(str(uuid.uuid4()), body, datetime.now(UTC))
            self.vouchers[voucher.id] = voucher
            return voucher

    def seed(self, count: int, start: date, days: int, *, prefix: str = "SEED-") -> None:
        """Many existing vouchers spread over `days` days (for the 10,000-window tests)."""
        from datetime import timedelta

        cid = self.categories[0]["id"]
        for i in range(count):
            day = start + timedelta(days=i % days)
            self.add_voucher({"type": "salesinvoice", "voucherNumber": f"{prefix}{i}",
                              "voucherDate": day.isoformat(), "totalGrossAmount": 1.19,
                              "totalTaxAmount": 0.19, "taxType": "gross", "voucherItems": [
                                  {"amount": 1.19, "taxAmount": 0.19, "taxRatePercent": 19,
                                   "categoryId": cid}]})

    def attach(self, voucher_id: str, data: bytes) -> tuple[str, bool]:
        """(file id, is new); raises ValueError when the file belongs to another voucher."""
        digest = hashlib.sha256(data).hexdigest()
        with self.lock:
            known = self.files.get(digest)
            if known is not None:
                if known[1] != voucher_id:
                    raise ValueError(known[1])
                return known[0], False
            file_id = str(uuid.uuid4())
            self.files[digest] = (file_id, voucher_id, data)
            self.vouchers[voucher_id].files.append(file_id)
            return file_id, True
