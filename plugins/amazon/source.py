"""The Amazon source: reads the VAT Invoice Data Report (VIDR) into invoices and credit notes.

A normal run asks for the pending view (no reportOptions: everything due, including rejected
uploads). A reload asks `{"ReportOption=All": "true"}` per window of at most 30 days. The report
is downloaded to a temporary file, parsed as a stream and grouped with bounded memory (see
grouping.py); every group becomes a Document, a Rejected (bad data, totals that disagree),
a Skipped (Amazon invoices it) and/or a Verdict (Amazon's word on an earlier upload).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

from syncd.connectors import (
    Batch,
    Catalog,
    ConnectorContext,
    Cursor,
    ReadItem,
    Source,
    Verdict,
    Window,
)
from syncd.errors import InputError
from syncd.model import Document, DocumentKind, Link, LinkKind, LinkMatch
from syncd_amazon.config import AmazonConfig
from syncd_amazon.connection import AmazonConnection
from syncd_amazon.documents import items_of, orphan_item
from syncd_amazon.grouping import Group, group_rows
from syncd_amazon.lookup import ALL_VIEW, wait_for_report
from syncd_amazon.lookup import iso as _iso
from syncd_amazon.spapi import SpApiClient
from syncd_amazon.vidr import BadLine, VidrReader, charset_of

DEFAULT_BATCH = 200


class AmazonSource(AmazonConnection, Source):
    name = "amazon"
    config_model = AmazonConfig
    max_window = timedelta(days=30)
    config: AmazonConfig

    def __init__(self, config: AmazonConfig, context: ConnectorContext,
                 client: SpApiClient | None = None) -> None:
        super().__init__(config, context, client)
        engine = getattr(getattr(context, "settings", None), "engine", None)
        self.batch_size = int(getattr(engine, "batch_size", DEFAULT_BATCH) or DEFAULT_BATCH)

    def discover(self) -> Catalog:
        return Catalog(kinds=frozenset({DocumentKind.INVOICE, DocumentKind.CREDIT_NOTE}),
                       max_window=self.max_window,
                       notes="VIDR (GET_FLAT_FILE_VAT_INVOICE_DATA_REPORT): pending view on "
                             "normal runs, ReportOption=All per <=30-day window on reloads")

    def read(self, cursor: Cursor | None, window: Window | None = None) -> Iterator[Batch]:
        if window is None:
            yield from self._read_report(cursor, None, None, None)
            return
        for part in window.split(self.max_window):
            start = datetime.combine(part.start, dtime.min, UTC)
            end = datetime.combine(part.end, dtime.min, UTC) - timedelta(seconds=1)
            yield from self._read_report(cursor, ALL_VIEW, start, end)

    # one report ------------------------------------------------------------------------------
    def _read_report(self, cursor: Cursor | None, options: dict[str, str] | None,
                     start: datetime | None, end: datetime | None) -> Iterator[Batch]:
        requested_at = time.time()
        report_id = self.client.create_report(
            list(self.config.marketplace_ids), options=options,
            start=_iso(start) if start else None, end=_iso(end) if end else None)
        view = "all" if options else "pending"
        self.log.info("vidr requested", report_id=report_id, view=view,
                      start=_iso(start) if start else None, end=_iso(end) if end else None)
        report = wait_for_report(self.client, self.config, report_id)
        new_cursor: dict[str, Any] = {
            "report_id": report_id, "view": view,
            "requested_at": datetime.fromtimestamp(requested_at, UTC).isoformat(),
        }
        if start and end:
            new_cursor["window"] = [_iso(start), _iso(end)]
        status = report["processingStatus"]
        if status == "CANCELLED":
            self.log.info("vidr has no data (CANCELLED)", report_id=report_id)
            yield Batch([], new_cursor)
            return
        if status == "FATAL":
            detail = ""
            if report.get("reportDocumentId"):
                detail = ": " + self._fetch_text(report["reportDocumentId"])[:2000]
            error = InputError(f"VIDR report {report_id}",
                               f"Amazon could not produce the report (FATAL){detail}")
            self.log.error("vidr failed; the pull fails", report_id=report_id, error=str(error))
            raise error
        with tempfile.TemporaryDirectory(prefix="vidr-", dir=self._tmp()) as tmp:
            path = Path(tmp) / f"{report_id}.tsv"
            document = self.client.get_report_document(report["reportDocumentId"])
            content_type = self.client.download(document["url"], path,
                                                compression=document.get("compressionAlgorithm"))
            try:
                yield from self._batches(path, report_id, content_type, requested_at, cursor,
                                         new_cursor, Path(tmp))
            except InputError as exc:  # the report as a whole is unusable: not a quiet pull
                self.log.error("vidr refused as a whole; the pull fails", report_id=report_id,
                               bytes=path.stat().st_size if path.exists() else None,
                               content_type=content_type, error=str(exc))
                raise

    def _tmp(self) -> Path:
        folder = Path(self.context.data_dir) / "tmp"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _fetch_text(self, document_id: str) -> str:
        document = self.client.get_report_document(document_id)
        with tempfile.TemporaryDirectory(dir=self._tmp()) as tmp:
            path = Path(tmp) / "fatal.txt"
            content_type = self.client.download(document["url"], path,
                                                compression=document.get("compressionAlgorithm"))
            data = path.read_bytes()
        charset = charset_of(content_type) or "utf-8"
        try:
            return data.decode(charset).strip()
        except (UnicodeDecodeError, LookupError):
            return data.decode("cp1252", errors="replace").strip()

    def _batches(self, path: Path, report_id: str, content_type: str | None,
                 requested_at: float, old_cursor: Cursor | None, new_cursor: Cursor,
                 spill: Path) -> Iterator[Batch]:
        name = f"VIDR report {report_id}"
        observed = datetime.fromtimestamp(requested_at, UTC)
        counts = {"rows": 0, "documents": 0, "rejected": 0, "skipped": 0, "verdicts": 0}
        keys = {"Document": "documents", "Rejected": "rejected", "Skipped": "skipped",
                "Verdict": "verdicts"}
        items: list[ReadItem] = []
        with path.open("rb") as fh:
            reader = VidrReader(fh, name=name, charset=charset_of(content_type))
            if reader.unknown_columns:
                self.log.info("vidr has columns syncd does not know; kept in document extra",
                              columns=reader.unknown_columns)
            for entry in _by_shipment(group_rows(reader, reader.header, spill_dir=spill)):
                if isinstance(entry, BadLine):
                    items.append(orphan_item(entry))
                    counts["rejected"] += 1
                else:
                    for group in entry:
                        counts["rows"] += len(group.rows)
                        for item in items_of(group, name):
                            if isinstance(item, Verdict):  # the VIDR names no upload
                                item = replace(item, observed_at=observed)
                            items.append(self._linked(item))
                            counts[keys[type(item).__name__]] += 1
                if len(items) >= self.batch_size:
                    yield Batch(items, old_cursor)
                    items = []
                    self.log.info("vidr progress", report_id=report_id, **counts)
            if reader.fallback_lines:
                self.log.warning("vidr lines were not valid in the declared charset; read as "
                                 "cp1252", report_id=report_id, lines=reader.fallback_lines)
        yield Batch(items, new_cursor)
        self.log.info("vidr read", report_id=report_id, **counts)

    @staticmethod
    def _linked(item: ReadItem) -> ReadItem:
        """A credit note links to its shipment's invoice, named by shipping id: the engine
        finds the invoice (from this or any earlier VIDR, read by any host), delivers it
        first and hands its number over in `job.links`; one not received yet is waited for."""
        if not isinstance(item, Document) or item.kind is not DocumentKind.CREDIT_NOTE:
            return item
        if not item.references.shipping_id:
            return item
        link = Link(kind=LinkKind.INVOICE, match=LinkMatch(shipping_id=item.references.shipping_id),
                    required=not item.original_invoice_number)
        return item.model_copy(update={"links": (*item.links, link)})


def _by_shipment(entries: Iterator[Group | BadLine]) -> Iterator[list[Group] | BadLine]:
    """Groups of one shipping id together (grouping sorts by shipping id), bad lines alone.

    The shipment's own invoice comes first, before a `Correction:` invoice of the same
    shipping id: the engine links a return to the first invoice received for it."""
    run: list[Group] = []
    for entry in entries:
        if isinstance(entry, BadLine):
            yield entry
            continue
        if run and run[0].shipping_id != entry.shipping_id:
            yield sorted(run, key=_original_first)
            run = []
        run.append(entry)
    if run:
        yield sorted(run, key=_original_first)


def _original_first(group: Group) -> int:
    original = (group.transaction_type.upper() == "SHIPMENT"
                and not group.transaction_id.startswith("Correction:"))
    return 0 if original else 1
