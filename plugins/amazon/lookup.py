"""Asking Amazon what became of one shipment: the VIDR `All` view for its dates.

Used when an upload's outcome is unknown (the createFeed answer was lost, or syncd was killed
while waiting for it). The pending view cannot answer that: it never lists a shipment whose
invoice landed, and is empty (CANCELLED) once all have. The `All` view
(`ReportOption=All` with the shipment's order/shipment dates) lists every shipment with its
invoice status, so one report decides: uploaded or processing → it landed; rejected → Amazon's
reason; pending or absent → it never arrived, upload it again.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

from syncd.errors import InputError, TransientError
from syncd.model import Document
from syncd_amazon.config import AmazonConfig
from syncd_amazon.documents import LANDED, REJECTED, status_of
from syncd_amazon.grouping import Group, group_rows
from syncd_amazon.spapi import SpApiClient
from syncd_amazon.vidr import VidrReader, charset_of

ALL_VIEW = {"ReportOption=All": "true"}
MAX_WINDOW = timedelta(days=30)


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def wait_for_report(client: SpApiClient, config: AmazonConfig, report_id: str) -> dict[str, Any]:
    """getReport until DONE, CANCELLED or FATAL (TransientError after `report_timeout`)."""
    deadline = time.monotonic() + config.report_timeout.total_seconds()
    pause = config.report_poll_interval.total_seconds()
    while True:
        report = client.get_report(report_id)
        if report["processingStatus"] in ("DONE", "CANCELLED", "FATAL"):
            return report
        if time.monotonic() >= deadline:
            raise TransientError(f"VIDR report {report_id} still {report['processingStatus']} "
                                 f"after {config.report_timeout}; the next run asks again")
        time.sleep(pause)


@dataclass(frozen=True)
class ViewStatus:
    """What one All-view report said about one document's group."""

    report_id: str
    start: str
    end: str
    status: str | None
    """invoice-status of the group; None when the report does not list it."""
    description: str = ""

    @property
    def landed(self) -> bool:
        return self.status in LANDED

    @property
    def rejected(self) -> bool:
        return self.status in REJECTED

    def checked(self, key: str) -> str:
        """For the operator: which report was asked and what it said."""
        said = (f"invoice-status {self.status}" + (f" ({self.description})"
                                                   if self.description else "")
                if self.status else "the shipment is not listed")
        return (f"checked VIDR report {self.report_id} (ReportOption=All, {self.start} .. "
                f"{self.end}) for {key}: {said}")


def window_of(document: Document) -> tuple[datetime, datetime]:
    """Whole days from the order date to the shipment date (at most Amazon's 30 days)."""
    days = [d for d in (document.order_date, document.delivery_date) if d is not None]
    first = min(days) if days else date.today() - timedelta(days=29)
    last = max(days) if days else date.today()
    start = datetime.combine(first, dtime.min, UTC)
    end = datetime.combine(last + timedelta(days=1), dtime.min, UTC) - timedelta(seconds=1)
    if end - start > MAX_WINDOW:
        start = end - MAX_WINDOW + timedelta(seconds=1)
    return start, end


def all_view_status(client: SpApiClient, config: AmazonConfig, document: Document,
                    folder: Path) -> ViewStatus:
    """Request the All view for the document's dates and read its group's status."""
    if document.marketplace is None:
        raise InputError(f"document {document.identity}", "names no marketplace")
    start, end = window_of(document)
    report_id = client.create_report([document.marketplace.id], options=ALL_VIEW,
                                     start=iso(start), end=iso(end))
    report = wait_for_report(client, config, report_id)
    found = ViewStatus(report_id, iso(start), iso(end), None)
    if report["processingStatus"] == "CANCELLED":  # Amazon's "no data"
        return found
    if report["processingStatus"] == "FATAL":
        raise TransientError(f"VIDR report {report_id} (ReportOption=All) failed (FATAL); "
                             "the outcome of the upload is still unknown, asked again later",
                             code="ReportFatal")
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vidr-all-", dir=folder) as tmp:
        path = Path(tmp) / f"{report_id}.tsv"
        meta = client.get_report_document(report["reportDocumentId"])
        content_type = client.download(meta["url"], path,
                                       compression=meta.get("compressionAlgorithm"))
        name = f"VIDR report {report_id}"
        with path.open("rb") as fh:
            reader = VidrReader(fh, name=name, charset=charset_of(content_type))
            for entry in group_rows(reader, reader.header, spill_dir=Path(tmp)):
                if isinstance(entry, Group):
                    status = status_of(entry, name)
                    if status.source_key == document.source_key:
                        found = ViewStatus(report_id, iso(start), iso(end), status.status,
                                           status.description)
    return found
