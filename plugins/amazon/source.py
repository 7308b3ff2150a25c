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
from syncd.errors import InputError, TransientError
from syncd.model import DocumentKind
from syncd_amazon.config import AmazonConfig
from syncd_amazon.connection import AmazonConnection
from syncd_amazon.documents import GroupStatus, items_of, orphan_item, status_of
from syncd_amazon.grouping import Group, group_rows
from syncd_amazon.spapi import SpApiClient
from syncd_amazon.store import ACCEPTED, CREATED, REQUESTED
from syncd_amazon.vidr import VidrReader, charset_of

ALL_VIEW = {"ReportOption=All": "true"}
DEFAULT_BATCH = 200


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
        report = self._wait_for(report_id)
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

    def _wait_for(self, report_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.config.report_timeout.total_seconds()
        pause = self.config.report_poll_interval.total_seconds()
        while True:
            report = self.client.get_report(report_id)
            if report["processingStatus"] in ("DONE", "CANCELLED", "FATAL"):
                return report
            if time.monotonic() >= deadline:
                raise TransientError(f"VIDR report {report_id} still "
                                     f"{report['processingStatus']} after "
                                     f"{self.config.report_timeout}; the next run asks again")
            time.sleep(pause)

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
        counts = {"rows": 0, "documents": 0, "rejected": 0, "skipped": 0, "verdicts": 0}
        items: list[ReadItem] = []
        statuses: list[GroupStatus] = []
        marks: list[tuple[str, int, str]] = []
        with path.open("rb") as fh:
            reader = VidrReader(fh, name=name, charset=charset_of(content_type))
            if reader.unknown_columns:
                self.log.info("vidr has columns syncd does not know; kept in document extra",
                              columns=reader.unknown_columns)
            for entry in group_rows(reader, reader.header, spill_dir=spill):
                if isinstance(entry, Group):
                    counts["rows"] += len(entry.rows)
                    statuses.append(status_of(entry, name))
                    for item in items_of(entry, name):
                        if isinstance(item, Verdict) and not item.accepted:
                            mark = self._new_rejection(item, requested_at)
                            if mark is None:
                                continue
                            marks.append(mark)
                        items.append(item)
                        kind = type(item).__name__
                        key = {"Document": "documents", "Rejected": "rejected",
                               "Skipped": "skipped", "Verdict": "verdicts"}[kind]
                        counts[key] += 1
                else:
                    items.append(orphan_item(entry))
                    counts["rejected"] += 1
                if len(items) >= self.batch_size:
                    self.store.record_statuses(statuses, requested_at)
                    statuses = []
                    yield Batch(items, old_cursor)
                    self.store.mark_verdicts(marks)  # the engine took the batch
                    items, marks = [], []
                    self.log.info("vidr progress", report_id=report_id, **counts)
            if reader.fallback_lines:
                self.log.warning("vidr lines were not valid in the declared charset; read as "
                                 "cp1252", report_id=report_id, lines=reader.fallback_lines)
        self.store.record_statuses(statuses, requested_at)
        yield Batch(items, new_cursor)
        self.store.mark_verdicts(marks)
        self.log.info("vidr read", report_id=report_id, **counts)

    def _new_rejection(self, verdict: Verdict, requested_at: float) -> tuple[str, int, str] | None:
        """The rejection's mark when it is news for the engine, else None.

        A rejected shipment stays in every pending VIDR with its reason until it is uploaded
        again, so each rejection is handed over once per upload. A rejection shown next to a
        newer upload may be about the older one and is held back until the VIDR has settled.
        """
        upload = self.store.latest_upload(verdict.source_key)
        if upload is not None and upload.state in (REQUESTED, CREATED, ACCEPTED) and (
                upload.created_at + self.config.upload_settle.total_seconds() > requested_at):
            return None
        mark = (verdict.source_key, upload.id if upload else 0, verdict.message or "")
        if self.store.verdict_sent(verdict.source_key) == mark[1:]:
            return None
        return mark
