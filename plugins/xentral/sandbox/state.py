"""What the Xentral emulator knows and records: products, customers, documents, files, knobs.

Tests read the records (`requests`, `documents`, `files`, `spec_violations`) and turn the
knobs (`fail_next[operation] = ["after" | "before" | "429" | "garbage"]`, `token_expired`,
`scopes`: the scopes the token grants, None for all).
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from syncd.testing.emulator import FaultQueues, Recorded, RequestLog

CENT = Decimal("0.01")
KINDS = {"invoices": "invoice", "creditNotes": "creditNote", "salesOrders": "salesOrder"}


@dataclass
class RateWindow:
    """Xentral's fixed window: `limit` requests per `period` seconds per instance.

    `reset_always` also sends `X-RateLimit-Reset` on answers that are not 429 (Xentral
    documents it on 429 only; a client must cope with both).
    """

    limit: int
    period: float
    start: float = 0.0
    used: int = 0
    reset_always: bool = False

    @property
    def per_minute(self) -> int:
        """The limit as `X-RateLimit-Limit` states it: requests per (emulated) minute."""
        return max(1, round(self.limit * 60 / self.period))

    def take(self) -> tuple[bool, int, float]:
        now = time.time()
        if now >= self.start + self.period:
            self.start, self.used = now, 0
        reset = self.start + self.period
        if self.used >= self.limit:
            return False, 0, reset
        self.used += 1
        return True, self.limit - self.used, reset


@dataclass
class EmulatorState:
    token: str
    projects: set[str]
    rate: RateWindow
    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    documents: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {kind: {} for kind in KINDS})
    files: list[dict[str, Any]] = field(default_factory=list)
    requests: RequestLog[Recorded] = field(default_factory=RequestLog)
    spec_violations: list[str] = field(default_factory=list)
    fail_next: FaultQueues[str] = field(default_factory=FaultQueues)
    token_expired: bool = False
    scopes: set[str] | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1001))

    def next_id(self) -> str:
        return str(next(self._ids))

    def record(self, item: Recorded) -> None:
        self.requests.append(item)

    def calls(self, operation: str | None = None) -> list[Recorded]:
        return self.requests.where(lambda r: operation is None or r.operation == operation)

    # seeding -----------------------------------------------------------------------------
    def add_product(self, number: str, name: str | None = None,
                    external: list[str] | None = None, project: str = "1") -> str:
        with self.lock:
            pid = self.next_id()
            self.products[pid] = {
                "id": pid, "number": number, "name": name or number, "project": {"id": project},
                "externalReferences": [{"id": self.next_id(), "number": e, "isActive": True,
                                        "isScannable": False} for e in external or []]}
            return pid

    def add_customer(self, name: str, email: str | None = None, **address: str) -> str:
        with self.lock:
            cid = self.next_id()
            self.customers[cid] = {"id": cid, "name": name, "email": email,
                                   "number": str(10000 + len(self.customers)), **address}
            return cid

    def add_sales_order(self, external_order_number: str, status: str = "released") -> str:
        with self.lock:
            oid = self.next_id()
            self.documents["salesOrders"][oid] = {
                "id": oid, "documentNumber": f"AU{oid}", "status": status,
                "externalOrderNumber": external_order_number,
                "externalOrderId": external_order_number, "activity": []}
            return oid

    def by_number(self, kind: str, number: str) -> dict[str, Any] | None:
        with self.lock:
            return next((d for d in self.documents[kind].values()
                         if d.get("documentNumber") == number), None)

    def count(self, kind: str) -> int:
        with self.lock:
            return len(self.documents[kind])


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def totals(line_items: list[dict[str, Any]], currency: str) -> dict[str, Any]:
    """Xentral's arithmetic as syncd assumes it: unrounded price × quantity, VAT per line,
    each line rounded half away from zero (PHP round()); the document sums its lines."""
    net_total = gross_total = Decimal(0)
    rates: dict[Decimal, list[Decimal]] = {}
    for item in line_items:
        amount = ((item.get("price") or {}).get("net") or {}).get("amount", 0)
        rate = Decimal(str(item.get("taxRate", 19)))
        raw = Decimal(str(amount)) * Decimal(str(item["quantity"]))
        net = raw.quantize(CENT, rounding=ROUND_HALF_UP)
        gross = (raw * (1 + rate / 100)).quantize(CENT, rounding=ROUND_HALF_UP)
        net_total, gross_total = net_total + net, gross_total + gross
        acc = rates.setdefault(rate, [Decimal(0), Decimal(0)])
        acc[0] += net
        acc[1] += gross

    def money(value: Decimal) -> dict[str, str]:
        return {"amount": str(value), "currency": currency}

    return {"net": money(net_total), "gross": money(gross_total),
            "taxBreakdown": [{"rate": float(r), "net": money(n), "taxAmount": money(g - n),
                              "gross": money(g)} for r, (n, g) in sorted(rates.items())]}


def matches(row: dict[str, Any], key: str, op: str, value: Any) -> bool:
    """The documented filter operators the emulator supports (equals, in, notIn, ...)."""
    current: Any = row
    for part in key.split("."):
        if isinstance(current, list):
            return any(matches(item, part, op, value) for item in current)
        current = current.get(part) if isinstance(current, dict) else None
    if isinstance(current, list):
        return any(matches({"v": c}, "v", op, value) for c in current)
    text = None if current is None else str(current)
    if op == "equals":
        return text == value
    if op == "notEquals":
        return text != value
    if op in ("in", "notIn"):
        values = value if isinstance(value, list) else str(value).split(",")
        return (text in values) == (op == "in")
    if op == "contains":
        return text is not None and str(value) in text
    if op == "startsWith":
        return text is not None and text.startswith(str(value))
    if op == "isNull":
        return text is None
    if op == "isNotNull":
        return text is not None
    raise ValueError(f"operator {op!r} is not supported by the emulator")
