"""The Amazon target: uploads one PDF per invoice or credit note as an UPLOAD_VAT_INVOICE feed.

Order of effects, so that nothing is uploaded twice: render and validate everything first
(number characters, metadata, totals against Amazon's VIDR sums), then createFeedDocument and
PUT the PDF (harmless if repeated), then record the upload intent in the plugin store, then
createFeed (the one call that counts), then poll the feed and read its processing report.
`find_existing` answers from the recorded uploads and the latest VIDR statuses.
"""

from __future__ import annotations

import re
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from syncd.connectors import NumberSeries, RemoteRef, Target
from syncd.errors import ConfigError, PermanentError, TransientError
from syncd.model import Document, DocumentKind
from syncd_amazon import processing_report
from syncd_amazon.config import AmazonConfig
from syncd_amazon.connection import AmazonConnection
from syncd_amazon.documents import LANDED, REJECTED
from syncd_amazon.errors import AmazonAuthError, SpApiError
from syncd_amazon.store import (
    ACCEPTED,
    CREATED,
    FAILED,
    REQUESTED,
    Upload,
)
from syncd_amazon.store import REJECTED as UPLOAD_REJECTED
from syncd_amazon.vidr import charset_of

FEED_TYPE = "UPLOAD_VAT_INVOICE"
PDF = "application/pdf"
ALLOWED = re.compile(r"^[A-Za-z0-9 ,/\\\-_;:#]+$")
ALLOWED_AMOUNT = re.compile(r"^-?\d+\.\d{2}$")
PENDING_STATUSES = {"InvoicePending", "NoTaxCalculated", "InvoiceRejected"}
DEADLINE = timedelta(hours=24)


def check_value(name: str, value: str, *, document: str) -> str:
    """Amazon accepts letters, digits, space and , / \\ - _ ; : # in metadata values."""
    if not ALLOWED.match(value):
        bad = sorted({c for c in value if not ALLOWED.match(c)})
        raise PermanentError(
            f"document {document}: metadata:{name} {value!r} contains characters Amazon "
            f"refuses ({''.join(bad)!r}); allowed are letters, digits, space and , / \\ - _ ; "
            ": #", code="InvalidMetadataValue")
    return value


def amazon_sums(doc: Document) -> tuple[str, str]:
    """TotalAmount / TotalVATAmount as Amazon's VIDR states them (negative for refunds).

    The document's own totals must agree (negated for a credit note), else nothing is sent.
    """
    sign = Decimal(-1) if doc.kind is DocumentKind.CREDIT_NOTE else Decimal(1)
    total = Decimal(doc.extra.get("amazon:total-amount", sign * doc.totals.gross))
    vat = Decimal(doc.extra.get("amazon:total-vat-amount", sign * doc.totals.vat))
    for field, mine, theirs in (("totals.gross", doc.totals.gross, total),
                                ("totals.vat", doc.totals.vat, vat)):
        if sign * mine != theirs:
            raise PermanentError(f"document {doc.identity}: {field} {mine} does not match "
                                 f"Amazon's VIDR sum {theirs}; not uploaded",
                                 code="TotalsMismatch")
    return f"{total:.2f}", f"{vat:.2f}"


def feed_options(doc: Document, number: str) -> dict[str, str]:
    """The UPLOAD_VAT_INVOICE feedOptions for `doc`, every value checked."""
    ident = doc.identity
    shipping_id = doc.references.shipping_id
    if not shipping_id:
        raise PermanentError(f"document {ident}: no shipping id; Amazon needs "
                             "metadata:ShippingId", code="79513")
    total, vat = amazon_sums(doc)
    credit = doc.kind is DocumentKind.CREDIT_NOTE
    options = {
        "metadata:ShippingId": check_value("ShippingId", shipping_id, document=ident),
        "metadata:InvoiceNumber": check_value("InvoiceNumber", number, document=ident),
        "metadata:DocumentType": "CreditNote" if credit else "Invoice",
        "metadata:TotalAmount": total,
        "metadata:TotalVATAmount": vat,
    }
    tid = doc.references.transaction_id or ""
    if credit or tid.startswith("Correction:"):
        if not tid:
            raise PermanentError(f"document {ident}: a credit note needs its transaction id",
                                 code="79513")
        options["metadata:TransactionId"] = check_value("TransactionId", tid, document=ident)
    return options


def safe_filename(number: str) -> str:
    """Amazon allows / \\ : and spaces in invoice numbers; file names do not."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", number)


class AmazonTarget(AmazonConnection, Target):
    name = "amazon"
    config_model = AmazonConfig
    config: AmazonConfig

    def number_series(self, document: Document) -> NumberSeries | None:
        if document.kind is DocumentKind.INVOICE:
            return NumberSeries("amazon-invoice", self.config.invoice_series)
        if document.kind is DocumentKind.CREDIT_NOTE:
            return NumberSeries("amazon-credit-note", self.config.credit_note_series)
        return None

    # deliver ---------------------------------------------------------------------------------
    def deliver(self, document: Document) -> RemoteRef:
        number = document.number
        if not number:
            raise PermanentError(f"document {document.identity} has no number; the engine "
                                 "allocates it from number_series() before delivery")
        if document.marketplace is None:
            raise PermanentError(f"document {document.identity} names no marketplace",
                                 code="79523")
        options = feed_options(document, number)
        document = self._with_original_number(document)
        pdf = self._render(document)
        self._archive(number, pdf)
        key = document.source_key
        upload = self.client.create_feed_document(PDF)
        self.client.upload(upload["url"], pdf, PDF)
        with self.client.pacer.slot() as waited:
            upload_id = self.store.begin_upload(key, number, upload["feedDocumentId"])
            feed_id = self._create_feed(upload_id, document, upload["feedDocumentId"], options)
        self.store.update_upload(upload_id, CREATED, feed_id=feed_id)
        self.log.info("invoice uploaded", source_key=key, number=number, feed_id=feed_id,
                      document_type=options["metadata:DocumentType"],
                      paced_wait=round(waited, 3))
        return self._await(feed_id, upload_id, number, deadline=time.monotonic()
                           + self.config.feed_timeout.total_seconds())

    def _create_feed(self, upload_id: int, document: Document, document_id: str,
                     options: dict[str, str]) -> str:
        """createFeed, recording whether Amazon certainly did not get it (then a resend is safe)."""
        assert document.marketplace is not None
        try:
            return self.client.create_feed(FEED_TYPE, [document.marketplace.id], document_id,
                                           options)
        except TransientError as exc:
            # a 429 was never processed; any other failure may have created the feed
            if exc.code in ("QuotaExceeded", "429"):
                self.store.update_upload(upload_id, FAILED, code=exc.code, message=str(exc))
            raise
        except (SpApiError, AmazonAuthError) as exc:
            self.store.update_upload(upload_id, FAILED, code=getattr(exc, "code", None),
                                     message=str(exc))
            raise

    def _with_original_number(self, doc: Document) -> Document:
        """A credit note names the invoice it corrects (§31 (5) UStDV), found in this order:

        1. the VIDR's original-vat-invoice-number (already on the document);
        2. `context.services["lookup_number"](source, source_key) -> str | None`, the number
           the engine gave the shipment's invoice (integration point for the engine);
        3. the number this plugin uploaded for that invoice (its own upload records).
        When the shipment is known but its invoice has no number yet, the delivery waits
        (TransientError); when nothing is known, the renderer refuses the credit note.
        """
        if doc.kind is not DocumentKind.CREDIT_NOTE or doc.original_invoice_number:
            return doc
        shipment = (self.store.shipment_of(doc.marketplace.id, doc.references.shipping_id or "")
                    if doc.marketplace else None)
        if shipment is None:
            self.log.warning("credit note for a shipment no VIDR has shown yet",
                             source_key=doc.source_key)
            return doc
        lookup = (self.context.services or {}).get("lookup_number")
        number = lookup("amazon", shipment.source_key) if lookup else None
        number = number or self.store.uploaded_number(shipment.source_key)
        if not number:
            raise TransientError(
                f"credit note {doc.identity}: the invoice of shipment {shipment.shipping_id} "
                f"({shipment.source_key}) has no number yet; retried after it is numbered",
                code="OriginalNotNumbered")
        return doc.model_copy(update={"original_invoice_number": number})

    def _archive(self, number: str, pdf: bytes) -> Path:
        """Keep the exact PDF sent for this number (sellers must retain issued invoices)."""
        folder = Path(self.context.data_dir) / "pdf"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{safe_filename(number)}.pdf"
        tmp = path.with_suffix(".pdf.tmp")
        tmp.write_bytes(pdf)
        tmp.replace(path)
        return path

    def _render(self, doc: Document) -> bytes:
        renderer = self.context.renderer
        if renderer is None:
            raise ConfigError(["the amazon target needs a PDF renderer (context.renderer)"])
        pdf = renderer.render(doc)
        if not isinstance(pdf, bytes | bytearray) or not bytes(pdf).startswith(b"%PDF-"):
            raise PermanentError(f"document {doc.identity}: the renderer did not produce a PDF",
                                 code="79503")
        return bytes(pdf)

    def _await(self, feed_id: str, upload_id: int, number: str, *, deadline: float,
               once: bool = False) -> RemoteRef:
        pause = self.config.feed_poll_interval.total_seconds()
        while True:
            feed = self.client.get_feed(feed_id)
            status = feed["processingStatus"]
            if status == "DONE":
                return self._judge(feed, upload_id, number)
            if status == "FATAL":
                text = self._result_text(feed)
                self.store.update_upload(upload_id, UPLOAD_REJECTED, code="FATAL",
                                         message=text[:1000])
                raise PermanentError(f"feed {feed_id} for {number} failed (FATAL): {text[:500]}",
                                     code="FATAL")
            if status == "CANCELLED":
                self.store.update_upload(upload_id, FAILED, code="CANCELLED")
                raise TransientError(f"feed {feed_id} for {number} was cancelled by Amazon",
                                     code="CANCELLED")
            if once or time.monotonic() >= deadline:
                if once:
                    return RemoteRef(feed_id, {"number": number, "state": "processing"})
                raise TransientError(f"feed {feed_id} for {number} still {status}; the retry "
                                     "resumes it instead of uploading again")
            time.sleep(pause)

    def _result_text(self, feed: dict[str, Any]) -> str:
        doc_id = feed.get("resultFeedDocumentId")
        if not doc_id:
            return ""
        document = self.client.get_feed_document(doc_id)
        folder = Path(self.context.data_dir) / "tmp"
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            path = Path(tmp) / "processing-report.txt"
            content_type = self.client.download(
                document["url"], path, compression=document.get("compressionAlgorithm"))
            return processing_report.decode(path.read_bytes(), charset_of(content_type))

    def _judge(self, feed: dict[str, Any], upload_id: int, number: str) -> RemoteRef:
        feed_id = feed["feedId"]
        text = self._result_text(feed)
        report = processing_report.parse(text) if text else None
        if report is not None and not report.accepted:
            errors = [e for e in report.errors if e.is_error] or report.errors
            code = errors[0].code if errors else "Rejected"
            message = report.summary()
            self.store.update_upload(upload_id, UPLOAD_REJECTED, code=code, message=message)
            raise PermanentError(f"Amazon rejected {number} (feed {feed_id}): {message}",
                                 code=code)
        self.store.update_upload(upload_id, ACCEPTED)
        summary = report.summary() if report else "no processing report"
        self.log.info("feed processed", feed_id=feed_id, number=number, report=summary)
        return RemoteRef(feed_id, {"number": number, "state": "processed", "report": summary})

    # idempotency -----------------------------------------------------------------------------
    def find_existing(self, document: Document) -> RemoteRef | None:
        key = document.source_key
        status = self.store.status(key)
        upload = self.store.latest_upload(key)
        if status is not None and status.status in LANDED:
            ref = upload.feed_id if upload and upload.feed_id else f"vidr:{key}"
            return RemoteRef(ref, {"state": status.status})
        if upload is None or upload.state in (UPLOAD_REJECTED, FAILED):
            return None
        settle = self.config.upload_settle.total_seconds()
        vidr_after = status is not None and status.seen_at >= upload.created_at + settle
        if vidr_after and status is not None and (status.status in REJECTED
                                                  or status.description):
            return None  # a report newer than our upload says it was rejected
        if upload.state == REQUESTED:
            if vidr_after:
                self.store.update_upload(upload.id, FAILED, message="not in a later VIDR")
                return None
            raise TransientError(
                f"the upload of {upload.number} for {key} may have reached Amazon (createFeed "
                "gave no answer); waiting for a VIDR requested after "
                f"{datetime.fromtimestamp(upload.created_at + settle, UTC):%Y-%m-%d %H:%M} UTC "
                "before uploading again", code="UploadOutcomeUnknown")
        return self._resume(upload)

    def _resume(self, upload: Upload) -> RemoteRef | None:
        assert upload.feed_id is not None
        if upload.state == ACCEPTED:
            return RemoteRef(upload.feed_id, {"number": upload.number, "state": "processed"})
        try:
            return self._await(upload.feed_id, upload.id, upload.number,
                               deadline=time.monotonic(), once=True)
        except PermanentError:
            return None  # rejected: a new upload (same number) may follow

    # SLA ---------------------------------------------------------------------------------------
    def status_warnings(self, now: datetime | None = None) -> list[str]:
        """Shipments closer than `sla_warning` to Amazon's 24-hour deadline without an upload."""
        now = now or datetime.now(UTC)
        statuses = self.store.statuses()
        if not statuses:
            return []
        latest = max(s.seen_at for s in statuses)
        warnings: list[str] = []
        for st in statuses:
            if (st.seen_at < latest or st.transaction_type != "SHIPMENT" or st.amazon_invoiced
                    or st.status not in PENDING_STATUSES or st.shipment_date is None):
                continue
            upload = self.store.latest_upload(st.source_key)
            if upload is not None and upload.state in (ACCEPTED, CREATED):
                continue
            deadline = (st.shipment_date + DEADLINE).astimezone(UTC)
            left = deadline - now
            if left > self.config.sla_warning:
                continue
            when = f"{deadline:%Y-%m-%d %H:%M} UTC"
            text = (f"shipment {st.shipping_id} ({st.source_key}) has no accepted invoice; "
                    + (f"Amazon's 24-hour upload deadline passed at {when}" if left <= timedelta(0)
                       else f"Amazon's 24-hour upload deadline is {when} "
                            f"(in {int(left.total_seconds() // 3600)}h"
                            f"{int(left.total_seconds() % 3600 // 60):02d}m)"))
            warnings.append(text)
            self.log.warning("sla", message=text)
        return warnings
