"""Amazon's checks of one UPLOAD_VAT_INVOICE, as the emulator applies them at createFeed.

Codes from Amazon's documentation (79503, 79513, 79517, 79523, 79525, 79531, 79540, 79544) and
emulator-specific text codes where Amazon names none (TotalAmountMismatch,
TotalVATAmountMismatch, InvalidMetadataValue, InvoiceNumberNotOnPdf). The findings end up in
the feed's processing report; an accepted upload moves its group to Processing.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from syncd_amazon.sandbox.state import LANDED, Feed

ALLOWED_VALUE = re.compile(r"^[A-Za-z0-9 ,/\\\-_;:#.]*$")
KNOWN_KEYS = {"ShippingId", "OrderId", "InvoiceNumber", "DocumentType", "TotalAmount",
              "TotalVATAmount", "TransactionId"}


def judge(emulator: Any, feed: Feed) -> None:
    """Amazon's checks of one invoice upload; errors end up in the processing report."""
    state = emulator.state
    doc = state.feed_documents[feed.document_id]
    errors = feed.errors
    if doc.data is None:
        errors.append(("79540", "No file was uploaded for the feed document"))
        return
    if not doc.data:
        errors.append(("79544", "The uploaded file is empty"))
        return
    if (doc.content_type != "application/pdf" or doc.uploaded_content_type != doc.content_type
            or not doc.data.startswith(b"%PDF-")):
        errors.append(("79503", "The uploaded file is not a PDF sent as application/pdf "
                                f"(declared {doc.content_type!r}, sent "
                                f"{doc.uploaded_content_type!r})"))
        return
    meta: dict[str, str] = {}
    for key, value in feed.options.items():
        if not key.startswith("metadata:"):
            errors.append(("79513", f"feedOptions key {key!r} lacks the metadata: prefix"))
            continue
        name = key.removeprefix("metadata:")
        if name not in KNOWN_KEYS:
            errors.append(("79513", f"unknown metadata key {name!r}"))
        if not ALLOWED_VALUE.match(value) or not value.strip():
            errors.append(("InvalidMetadataValue",
                           f"metadata:{name} has characters Amazon does not accept"))
        meta[name] = value.strip()
    if errors:
        return
    for required in ("InvoiceNumber", "TotalAmount", "TotalVATAmount"):
        if required not in meta:
            errors.append(("79513", f"missing required metadata: metadata:{required}"))
    if "ShippingId" not in meta and "OrderId" not in meta:
        errors.append(("79513", "missing metadata: metadata:ShippingId or metadata:OrderId"))
    doc_type = meta.get("DocumentType", "Invoice")
    if doc_type not in ("Invoice", "CreditNote"):
        errors.append(("79531", f"DocumentType {doc_type!r} is not Invoice or CreditNote"))
    if doc_type == "CreditNote" and "TransactionId" not in meta:
        errors.append(("79513", "missing metadata: metadata:TransactionId for a credit note"))
    if len(feed.marketplace_ids) != 1:
        errors.append(("79523", "the feed must name exactly one valid marketplace"))
    if errors:
        return
    shipping_id = meta.get("ShippingId") or _shipping_of_order(state, meta.get("OrderId", ""))
    feed.shipping_id = shipping_id
    group = state.find_group(shipping_id, doc_type, meta.get("TransactionId"))
    if group is None:
        errors.append(("79517", f"shipment {shipping_id} / {meta.get('TransactionId', '-')}"
                                " is unknown or not yet shipped"))
        return
    if group.transaction_id.startswith("Correction:") and "TransactionId" not in meta:
        errors.append(("79513", "missing metadata: metadata:TransactionId for a corrected "
                                "invoice"))
    if group.marketplace_id != feed.marketplace_ids[0]:
        errors.append(("79523", f"marketplace {feed.marketplace_ids[0]} is not the "
                                f"shipment's marketplace"))
    if group.amazon_invoiced:
        errors.append(("79525", "Amazon issues the invoice for this shipment"))
    if errors:
        _reject(group, errors)
        return
    total, vat = group.sums()
    for name, expected in (("TotalAmount", total), ("TotalVATAmount", vat)):
        try:
            sent = Decimal(meta[name])
        except InvalidOperation:
            sent = None
        if sent is None or sent.quantize(Decimal("0.01")) != expected.quantize(
                Decimal("0.01")):
            errors.append((f"{name}Mismatch", f"metadata:{name} {meta[name]} differs from "
                                              f"Amazon's {expected:.2f}"))
    if emulator.check_pdf_text and not errors:
        text = _pdf_text(doc.data)
        if text is not None and meta["InvoiceNumber"] not in text:
            errors.append(("InvoiceNumberNotOnPdf",
                           f"metadata:InvoiceNumber {meta['InvoiceNumber']} is not printed "
                           "on the PDF"))
    if errors:
        _reject(group, errors)
        return
    if group.status in LANDED:
        state.duplicate_uploads.append(f"{group.shipping_id}/{group.transaction_id}")
    group.uploads.append(feed.feed_id)
    if state.vidr_lag > 0 and group.status not in LANDED:
        group.shown = (group.status, group.description, state.now() + state.vidr_lag)
    late = state.late_rejections.pop(group.shipping_id, None)
    if late:
        group.status = "CreditNoteRejected" if group.is_credit else "InvoiceRejected"
        group.description = late
        return
    group.status = "CreditNoteProcessing" if group.is_credit else "InvoiceProcessing"
    group.description = ""
    group.promote = True

def _reject(group: Any, errors: list[tuple[str, str]]) -> None:
    group.status = "CreditNoteRejected" if group.is_credit else "InvoiceRejected"
    group.description = "; ".join(f"{code} {message}" for code, message in errors)

def _shipping_of_order(state: Any, order_id: str) -> str:
    for group in state.groups.values():
        if any(r.get("order-id") == order_id for r in group.rows):
            return group.shipping_id
    return ""


def _pdf_text(data: bytes) -> str | None:
    """The PDF's text when pypdf (a test extra) is installed; None means "cannot check"."""
    try:
        import io

        from pypdf import PdfReader
    except ImportError:
        return None
    try:
        return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)
    except Exception:  # a broken PDF: Amazon would not read it either
        return ""
