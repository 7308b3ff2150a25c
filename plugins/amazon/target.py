"""The Amazon target: uploads one PDF per invoice or credit note as an UPLOAD_VAT_INVOICE feed.

Two engine steps, so nothing is uploaded twice and the target keeps no state of its own:
- "upload": render (the batch's PDFs come from `prepare`, rendered in one go; the engine's
  rendered-file archive keeps the PDF as issued), check the metadata, createFeedDocument and
  PUT the PDF. Harmless to repeat; result = feedDocumentId and
  the time of the upload.
- "feed": createFeed (the one call that counts, paced by `upload_interval`), poll getFeed and
  read the processing report; result = feedId. When an attempt may have reached Amazon without
  syncd learning the outcome (a lost answer, a kill), the engine asks `find_step("feed")`
  first: once `upload_settle` has passed since that attempt (`job.in_doubt_since`), the VIDR
  `All` view for the shipment's dates decides (see lookup.py) and the operator is told what
  was checked.
A credit note names its invoice: the VIDR's original-vat-invoice-number, else the number the
engine gave the linked invoice (`job.links[LinkKind.INVOICE]`, set by the source).
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from syncd.connectors import Job, NumberSeries, RemoteRef, StepResult, Target
from syncd.errors import ConfigError, PermanentError, TransientError
from syncd.model import Document, DocumentKind, LinkKind
from syncd.render.batch import BatchPdfs
from syncd_amazon import processing_report
from syncd_amazon.config import AmazonConfig
from syncd_amazon.connection import AmazonConnection
from syncd_amazon.lookup import ViewStatus, all_view_status
from syncd_amazon.vidr import charset_of

FEED_TYPE = "UPLOAD_VAT_INVOICE"
PDF = "application/pdf"
ALLOWED = re.compile(r"^[A-Za-z0-9 ,/\\\-_;:#]+$")
ALLOWED_AMOUNT = re.compile(r"^-?\d+\.\d{2}$")
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


class AmazonTarget(AmazonConnection, Target):
    name = "amazon"
    config_model = AmazonConfig
    config: AmazonConfig
    STEPS = ("upload", "feed")

    def __init__(self, config: AmazonConfig, context: Any, client: Any = None) -> None:
        super().__init__(config, context, client)
        self.pdfs = BatchPdfs(context.renderer)
        self._looked_up: dict[str, str] = {}

    def number_series(self, document: Document) -> NumberSeries | None:
        if document.kind is DocumentKind.INVOICE:
            return NumberSeries("amazon-invoice", self.config.invoice_series)
        if document.kind is DocumentKind.CREDIT_NOTE:
            return NumberSeries("amazon-credit-note", self.config.credit_note_series)
        return None

    def steps(self, document: Document) -> Sequence[str]:
        return self.STEPS

    def validate(self, document: Document) -> None:
        """Everything Amazon would refuse, checked before the engine spends a number."""
        if document.marketplace is None:
            raise PermanentError(f"document {document.identity} names no marketplace",
                                 code="79523")
        feed_options(document, "0")  # the number's characters come from a checked series

    # batch hook ------------------------------------------------------------------------------
    def prepare(self, jobs: Sequence[Job]) -> None:
        """Render the batch's PDFs in one go (the renderer's fast batch path, `BatchPdfs`)."""
        docs: list[Document] = []
        for job in jobs:
            if "upload" in job.steps or not job.document.number:
                continue
            try:
                docs.append(self._final(job))
            except TransientError:  # its step says why; nothing to render ahead
                continue
        rendered = self.pdfs.prepare(docs)
        if rendered:
            self.log.info("batch rendered", documents=rendered)

    # steps ------------------------------------------------------------------------------------
    def run_step(self, step: str, job: Job) -> StepResult:
        if step == "upload":
            return self._upload(job)
        if step == "feed":
            return self._feed(job)
        raise TypeError(f"AmazonTarget has no step {step!r}")

    def _number(self, document: Document) -> str:
        if not document.number:
            raise PermanentError(f"document {document.identity} has no number; the engine "
                                 "allocates it from number_series() before delivery")
        return document.number

    def _upload(self, job: Job) -> StepResult:
        document = self._final(job)
        number = self._number(document)
        self.validate(document)
        feed_options(document, number)
        pdf = self._render(document)
        upload = self.client.create_feed_document(PDF)
        self.client.upload(upload["url"], pdf, PDF)
        return StepResult(upload["feedDocumentId"], {
            "number": number, "uploaded_at": time.time(),
            "sha256": hashlib.sha256(pdf).hexdigest(), "bytes": len(pdf)})

    def _feed(self, job: Job) -> StepResult:
        document = job.document
        number = self._number(document)
        upload = job.steps["upload"]
        assert document.marketplace is not None and upload.ref
        options = feed_options(document, number)
        with self.client.pacer.slot() as waited:
            feed_id = self.client.create_feed(FEED_TYPE, [document.marketplace.id], upload.ref,
                                              options)
        self.log.info("invoice uploaded", source_key=document.source_key, number=number,
                      feed_id=feed_id, document_type=options["metadata:DocumentType"],
                      paced_wait=round(waited, 3))
        result = self._await(feed_id, number, deadline=time.monotonic()
                             + self.config.feed_timeout.total_seconds())
        looked = self._looked_up.pop(document.source_key, None)
        return StepResult(feed_id, {**result, **({"looked_up": looked} if looked else {})})

    def deliver(self, document: Document) -> RemoteRef:
        """Every step in order for one document outside the engine (tools, tests)."""
        job = Job(document=document, pipeline="", target=self.name)
        for step in self.STEPS:
            job = job.with_step(step, self.run_step(step, job))
        last = job.steps["feed"]
        return RemoteRef(last.ref or "", dict(last.detail))

    def _final(self, job: Job) -> Document:
        """The document as rendered: a credit note names the invoice it corrects (§31 (5)
        UStDV): the VIDR's original-vat-invoice-number, else the linked invoice's number."""
        doc = job.document
        if doc.kind is not DocumentKind.CREDIT_NOTE or doc.original_invoice_number:
            return doc
        link = job.links.get(LinkKind.INVOICE)
        if link is not None and link.number:
            return doc.model_copy(update={"original_invoice_number": link.number,
                                          "original_invoice_date": link.issue_date})
        if any(k.kind is LinkKind.INVOICE and k.required for k in doc.links):
            raise TransientError(f"credit note {doc.identity}: its invoice has no number yet; "
                                 "the engine delivers it after the invoice",
                                 code="OriginalNotNumbered")
        return doc

    def _render(self, doc: Document) -> bytes:
        """The batch's PDF of `doc` (rendered in `prepare`), else one rendered alone now."""
        if self.context.renderer is None:
            raise ConfigError(["the amazon target needs a PDF renderer (context.renderer)"])
        pdf = self.pdfs.pdf(doc)
        if not isinstance(pdf, bytes | bytearray) or not bytes(pdf).startswith(b"%PDF-"):
            raise PermanentError(f"document {doc.identity}: the renderer did not produce a PDF",
                                 code="79503")
        return bytes(pdf)

    def _await(self, feed_id: str, number: str, *, deadline: float) -> dict[str, Any]:
        pause = self.config.feed_poll_interval.total_seconds()
        while True:
            feed = self.client.get_feed(feed_id)
            status = feed["processingStatus"]
            if status == "DONE":
                return self._judge(feed, number)
            if status == "FATAL":
                text = self._result_text(feed)
                raise PermanentError(f"feed {feed_id} for {number} failed (FATAL): {text[:500]}",
                                     code="FATAL")
            if status == "CANCELLED":
                raise TransientError(f"feed {feed_id} for {number} was cancelled by Amazon; "
                                     "uploaded again", code="CANCELLED")
            if time.monotonic() >= deadline:
                raise TransientError(f"feed {feed_id} for {number} still {status} after "
                                     f"{self.config.feed_timeout}; the next attempt looks the "
                                     "upload up in the VIDR instead of sending it again",
                                     code="FeedInProgress")
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

    def _judge(self, feed: dict[str, Any], number: str) -> dict[str, Any]:
        feed_id = feed["feedId"]
        text = self._result_text(feed)
        report = processing_report.parse(text) if text else None
        if report is not None and not report.accepted:
            errors = [e for e in report.errors if e.is_error] or report.errors
            code = errors[0].code if errors else "Rejected"
            raise PermanentError(f"Amazon rejected {number} (feed {feed_id}): "
                                 f"{report.summary()}", code=code)
        summary = report.summary() if report else "no processing report"
        self.log.info("feed processed", feed_id=feed_id, number=number, report=summary)
        return {"number": number, "state": "processed", "report": summary}

    # idempotency -----------------------------------------------------------------------------
    def find_step(self, step: str, job: Job) -> StepResult | None:
        """Before repeating a step that may have reached Amazon.

        "upload" is harmless to repeat, except for an operator's resend of a done document:
        then the All view is asked first, so a landed invoice is never uploaded twice. "feed"
        (createFeed's answer never arrived) waits until `upload_settle` has passed since the
        last attempt that may have sent it (`job.in_doubt_since`: a lost answer, a kill; the
        VIDR shows an upload only once Amazon processed it, and a request cut off by a timeout
        may still arrive), never merely since the upload. Then the All view decides: uploaded
        or processing → found; rejected or pending → None (send again); not listed → asked
        again later, as that proves nothing.
        """
        if step == "upload":
            if not job.resend:
                return None
            view = self._ask(job.document, decide=True)
            return self._found(view, job.document) if view.landed else None
        if step != "feed":
            return None
        self._settled(job)
        view = self._ask(job.document, decide=True)
        if view.landed:
            return self._found(view, job.document)
        self._looked_up[job.document.source_key] = view.checked(job.document.source_key)
        return None

    def _settled(self, job: Job) -> None:
        """TransientError until `upload_settle` has passed since anything may have been sent."""
        upload = job.steps.get("upload")
        sent = float((upload.detail if upload else {}).get("uploaded_at") or 0)
        since = job.in_doubt_since
        if since is not None:  # naive UTC from the engine: the end of the doubtful attempt
            sent = max(sent, since.replace(tzinfo=UTC).timestamp())
        due = sent + self.config.upload_settle.total_seconds() - time.time()
        if due > 0:
            when = datetime.fromtimestamp(time.time() + due, UTC)
            raise TransientError(
                f"the upload of {job.document.number} for {job.document.source_key} may have "
                "reached Amazon (createFeed gave no answer); the VIDR All view is asked after "
                f"{when:%Y-%m-%d %H:%M:%S} UTC (upload_settle {self.config.upload_settle} "
                "after the last attempt that may have sent it) before anything is sent again",
                code="UploadOutcomeUnknown", retry_after=due)

    def _ask(self, document: Document, *, decide: bool = False) -> ViewStatus:
        """The All view's word on `document`; with `decide`, a shipment the view does not list
        is a TransientError: that proves neither landing nor loss, so nothing is sent."""
        view = all_view_status(self.client, self.config, document,
                               Path(self.context.data_dir) / "tmp")
        checked = view.checked(document.source_key)
        if decide and view.status is None:
            self.log.warning("upload outcome looked up", source_key=document.source_key,
                             checked=checked, decision="unknown, asked again later")
            raise TransientError(f"{checked}; that proves neither that the upload landed nor "
                                 "that it did not: not sent again, asked again later",
                                 code="UploadNotListed")
        verdict = ("it landed, not sent again" if view.landed else "it did not land, sending "
                   "it (again)")
        self.log.warning("upload outcome looked up", source_key=document.source_key,
                         checked=checked, decision=verdict)
        return view

    @staticmethod
    def _found(view: ViewStatus, document: Document) -> StepResult:
        return StepResult(f"vidr:{view.report_id}", {
            "number": document.number, "state": view.status,
            "looked_up": view.checked(document.source_key)})

    def find_existing(self, document: Document) -> RemoteRef | None:
        """Whether Amazon shows an invoice for the document (the All view), whatever sent it."""
        view = self._ask(document)
        if not view.landed:
            return None
        found = self._found(view, document)
        return RemoteRef(found.ref or "", dict(found.detail))

    # SLA ---------------------------------------------------------------------------------------
    def status_warnings(self, now: datetime | None = None) -> list[str]:
        """Invoices not uploaded yet (their delivery here is not `done`, as the engine's store
        says for every host) and closer than `sla_warning` to Amazon's 24-hour deadline after
        the shipment date. An operator's `manual` is theirs to watch."""
        now = now or datetime.now(UTC)
        if self.context.deliveries is None:
            return []
        warnings: list[str] = []
        for open_ in self.context.deliveries.open():
            doc = open_.document
            shipped = shipment_date(doc)
            if doc.kind is not DocumentKind.INVOICE or open_.state == "manual" or not shipped:
                continue
            deadline = (shipped + DEADLINE).astimezone(UTC)
            left = deadline - now
            if left > self.config.sla_warning:
                continue
            when = f"{deadline:%Y-%m-%d %H:%M} UTC"
            text = (f"shipment {doc.references.shipping_id} ({doc.source_key}) has no accepted "
                    "invoice; "
                    + (f"Amazon's 24-hour upload deadline passed at {when}" if left <= timedelta(0)
                       else f"Amazon's 24-hour upload deadline is {when} "
                            f"(in {int(left.total_seconds() // 3600)}h"
                            f"{int(left.total_seconds() % 3600 // 60):02d}m)"))
            warnings.append(text)
            self.log.warning("sla", message=text)
        return warnings


def shipment_date(doc: Document) -> datetime | None:
    """The VIDR's shipment-date (`extra["amazon:shipment-date"]`), else the delivery date's
    midnight UTC (documents stored before it was kept: an earlier, never a later, deadline)."""
    text = doc.extra.get("amazon:shipment-date")
    if text:
        return datetime.fromisoformat(text)
    if doc.delivery_date is None:
        return None
    return datetime.combine(doc.delivery_date, datetime.min.time(), UTC)
