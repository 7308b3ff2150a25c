"""Everything the Amazon emulator knows and records: VIDR rows, reports, feeds, tokens, knobs.

Tests read the records (`requests`, `feeds`, `createfeed_times`, `duplicate_uploads`,
`spec_violations`) and turn the knobs (`revoked`, `lwa_failures`, `roles`, `throttle_next`,
`report_fatal`, `late_rejections`, `fail_next`, `vidr_lag`, `expire_tokens()`).
"""

from __future__ import annotations

import io
import itertools
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from syncd.testing.emulator import FaultQueues, Recorded, RequestLog
from syncd_amazon.vidr import BadLine, VidrReader

PENDING = {"InvoicePending", "CreditNotePending", "NoTaxCalculated"}
REJECTED = {"InvoiceRejected", "CreditNoteRejected"}
LANDED = {"InvoiceProcessing", "InvoiceUploaded", "CreditNoteProcessing", "CreditNoteUploaded"}
AMOUNT_PARTS = ("item", "item-promo", "shipping", "shipping-promo", "gift-wrap", "gift-promo")


@dataclass
class ShipmentGroup:
    """One (marketplace, shipping-id, transaction-type, transaction-id) group of the VIDR."""

    marketplace_id: str
    shipping_id: str
    transaction_type: str
    transaction_id: str
    rows: list[dict[str, str]] = field(default_factory=list)
    status: str = "InvoicePending"
    description: str = ""
    promote: bool = False  # Processing -> Uploaded after the next report shows Processing
    uploads: list[str] = field(default_factory=list)  # feed ids that were accepted
    shown: tuple[str, str, float] | None = None
    """(status, description, until): what reports show until Amazon processed an upload."""

    def visible(self, now: float) -> tuple[str, str]:
        """The invoice-status and description a VIDR requested at `now` shows."""
        if self.shown is not None and now < self.shown[2]:
            return self.shown[0], self.shown[1]
        return self.status, self.description

    @property
    def is_credit(self) -> bool:
        return self.transaction_type in ("RETURN", "REFUND")

    @property
    def amazon_invoiced(self) -> bool:
        return any(r.get("is-amazon-invoiced", "").strip().lower() == "true" for r in self.rows)

    def sums(self) -> tuple[Decimal, Decimal]:
        """Amazon's TotalAmount and TotalVATAmount for the group (its own arithmetic)."""
        total = vat = Decimal(0)
        for row in self.rows:
            for part in AMOUNT_PARTS:
                total += _dec(row.get(f"{part}-vat-incl-amount", ""))
                vat += _dec(row.get(f"{part}-vat-amount", ""))
        return total, vat

    def shipment_date(self) -> datetime | None:
        text = self.rows[0].get("shipment-date", "").strip()
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            return None
        return value if value.tzinfo else value.replace(tzinfo=UTC)


def _dec(text: str) -> Decimal:
    try:
        return Decimal(text.strip()) if text.strip() else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


@dataclass
class Report:
    report_id: str
    marketplace_ids: list[str]
    options: dict[str, str]
    start: datetime | None
    end: datetime | None
    created: datetime
    polls: int = 0
    status: str = "IN_QUEUE"
    document_id: str | None = None


@dataclass
class FeedDocument:
    document_id: str
    content_type: str
    expires: float
    data: bytes | None = None
    uploaded_content_type: str | None = None


@dataclass
class Feed:
    feed_id: str
    feed_type: str
    marketplace_ids: list[str]
    document_id: str
    options: dict[str, str]
    created: datetime
    received_at: float
    errors: list[tuple[str, str]] = field(default_factory=list)
    shipping_id: str = ""
    polls: int = 0
    status: str = "IN_QUEUE"
    result_document_id: str | None = None


@dataclass
class StoredFile:
    data: bytes
    content_type: str
    expires: float
    compression: str | None = None


class EmulatorState:
    """Shared state of one emulator instance; every access holds `lock`."""

    def __init__(self, vidr_files: Iterable[Path] = (), *, speedup: float = 1.0,
                 upload_interval: float = 3.0, url_ttl: float = 300.0) -> None:
        self.lock = threading.RLock()
        self.speedup = speedup
        self.upload_interval = upload_interval
        self.url_ttl = url_ttl
        self.columns: list[str] = []
        self.groups: dict[tuple[str, str, str, str], ShipmentGroup] = {}
        self.reports: dict[str, Report] = {}
        self.feed_documents: dict[str, FeedDocument] = {}
        self.feeds: dict[str, Feed] = {}
        self.files: dict[str, StoredFile] = {}
        self.requests: RequestLog[Recorded] = RequestLog()
        self.spec_violations: list[str] = []
        self.createfeed_times: list[float] = []
        self.duplicate_uploads: list[str] = []
        self.tokens: dict[str, float] = {}  # access token -> expiry (monotonic)
        self.tokens_issued = 0
        self._ids = itertools.count(100001)
        # knobs
        self.revoked = False
        self.lwa_failures: list[str] = []
        self.roles: set[str] = {"tax_invoicing"}
        self.throttle_next: dict[str, int] = {}
        self.report_fatal: str | None = None
        self.late_rejections: dict[str, str] = {}
        self.fail_next: FaultQueues[str] = FaultQueues()  # op -> ["before"|"after"|"garbage"]
        self.vidr_lag = 0.0
        """Seconds before an accepted upload shows in VIDR reports (Amazon processes feeds
        asynchronously: a report requested meanwhile still shows the shipment pending)."""
        self.report_polls = 2
        self.feed_polls = 2
        self.report_gzip = True
        self.report_encoding = "utf-8"
        self.report_content_type = "text/tab-separated-values; charset=UTF-8"
        self.report_bom = False
        self.report_body: bytes | None = None  # the next DONE report serves these bytes
        self.token_lifetime = 3600
        for path in vidr_files:
            self.load_vidr(Path(path))

    def next_id(self) -> str:
        return str(next(self._ids))

    # VIDR data ----------------------------------------------------------------------------
    def load_vidr(self, path: Path) -> int:
        """Add the rows of a VIDR file (the emulator's truth about shipments)."""
        with self.lock, path.open("rb") as fh:
            reader = VidrReader(fh, name=str(path))
            for column in reader.header:
                if column not in self.columns:
                    self.columns.append(column)
            count = 0
            for item in reader:
                if isinstance(item, BadLine):
                    continue
                self.add_row(item.values)
                count += 1
            return count

    def add_row(self, values: dict[str, str]) -> ShipmentGroup:
        with self.lock:
            for column in values:
                if column not in self.columns:
                    self.columns.append(column)
            key = (values.get("marketplace-id", ""), values.get("shipping-id", ""),
                   values.get("transaction-type", "").upper(), values.get("transaction-id", ""))
            group = self.groups.get(key)
            if group is None:
                group = self.groups[key] = ShipmentGroup(
                    *key, status=values.get("invoice-status") or "InvoicePending",
                    description=values.get("invoice-status-description", ""))
            group.rows.append(dict(values))
            return group

    def render_vidr(self, report: Report) -> bytes:
        """The report text for `report`; Processing groups move on to Uploaded afterwards."""
        all_view = report.options.get("ReportOption=All", "").lower() == "true"
        out = io.StringIO()
        out.write("\t".join(self.columns) + "\n")
        shown, now = 0, self.now()
        for group in self.groups.values():
            if group.marketplace_id not in report.marketplace_ids:
                continue
            status, description = group.visible(now)
            if all_view:
                shipped = group.shipment_date()
                if shipped is None or not (report.start and report.end
                                           and report.start <= shipped <= report.end):
                    continue
            else:
                if status not in PENDING | REJECTED:
                    continue
                if status in REJECTED:  # the pending view shows rejections as pending + reason
                    status = "CreditNotePending" if group.is_credit else "InvoicePending"
            for row in group.rows:
                values = dict(row)
                values["invoice-status"] = status
                values["invoice-status-description"] = description
                out.write("\t".join(values.get(c, "") for c in self.columns) + "\n")
                shown += 1
            if group.promote and status in LANDED:
                group.status = group.status.replace("Processing", "Uploaded")
                group.promote = False
        if not shown:
            return b""
        data = out.getvalue().encode(self.report_encoding, errors="replace")
        return b"\xef\xbb\xbf" + data if self.report_bom else data

    def shift_dates(self, latest_shipment: datetime) -> timedelta:
        """Move every order/shipment date so the newest shipment is at `latest_shipment`.

        Keeps the bundled demo data "fresh": the 24-hour upload deadline is then meaningful.
        """
        with self.lock:
            shipped = [d for g in self.groups.values() if (d := g.shipment_date())]
            if not shipped:
                return timedelta(0)
            delta = latest_shipment - max(shipped)
            for group in self.groups.values():
                for row in group.rows:
                    for column in ("order-date", "shipment-date"):
                        text = row.get(column, "").strip()
                        try:
                            value = datetime.fromisoformat(text)
                        except ValueError:
                            continue
                        value = value if value.tzinfo else value.replace(tzinfo=UTC)
                        row[column] = (value + delta).isoformat()
            return delta

    def find_group(self, shipping_id: str, doc_type: str,
                   transaction_id: str | None) -> ShipmentGroup | None:
        wanted = {"Invoice": ("SHIPMENT",), "CreditNote": ("RETURN", "REFUND")}[doc_type]
        candidates = [g for g in self.groups.values()
                      if g.shipping_id == shipping_id and g.transaction_type in wanted]
        if transaction_id:
            candidates = [g for g in candidates if g.transaction_id == transaction_id]
        elif doc_type == "Invoice":
            candidates = [g for g in candidates if not g.transaction_id.startswith("Correction:")]
        return candidates[0] if candidates else None

    # tokens -------------------------------------------------------------------------------
    def expire_tokens(self) -> None:
        """Every access token issued so far expires now (tests of refresh-on-401/403)."""
        with self.lock:
            for token in self.tokens:
                self.tokens[token] = 0.0

    def record(self, entry: Recorded) -> None:
        self.requests.append(entry)

    def calls(self, operation: str) -> list[Recorded]:
        return self.requests.where(lambda r: r.operation == operation)

    def now(self) -> float:
        return time.monotonic()
