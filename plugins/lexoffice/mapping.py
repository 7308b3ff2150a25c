"""A syncd Document as a lexoffice bookkeeping voucher (`POST /v1/vouchers` body).

Gross tax type, one voucher item per VAT rate (lexoffice books by rate, not by article),
positive amounts for credit notes (the type carries the direction), totals checked to the
cent before anything is sent.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from syncd.errors import PermanentError
from syncd.model import Document, DocumentKind
from syncd_lexoffice.categories import OSS_CATEGORIES, Category

BOOKKEEPING_RATES = frozenset(Decimal(r) for r in ("0", "5", "7", "16", "19"))
"""The tax rates a bookkeeping voucher takes outside the OSS categories (NOTES 1.4)."""
VOUCHER_TYPES = {DocumentKind.INVOICE: "salesinvoice",
                 DocumentKind.CREDIT_NOTE: "salescreditnote"}


def voucher_type(document: Document) -> str:
    try:
        return VOUCHER_TYPES[document.kind]
    except KeyError:
        raise PermanentError(f"document {document.identity}: lexoffice vouchers are invoices or "
                             f"credit notes, not {document.kind.value}s",
                             code="kind") from None


def check_deliverable(document: Document) -> None:
    """Everything that makes a document undeliverable whatever the account says."""
    ident = document.identity
    voucher_type(document)
    if document.currency != "EUR":
        raise PermanentError(
            f"document {ident}: currency {document.currency}: lexoffice bookkeeping vouchers "
            "are EUR only; syncd does not convert (book it by hand or have the source issue "
            "it in EUR)", code="currency")
    if document.totals.gross < 0 or document.totals.vat < 0:
        raise PermanentError(f"document {ident}: totals.gross {document.totals.gross} is "
                             "negative; lexoffice wants positive totals (a credit note states "
                             "what it credits)", code="negative")


def buyer_name(document: Document) -> str | None:
    address = document.billing_address or document.shipping_address
    for value in (document.buyer.company, document.buyer.name,
                  address.company if address else None, address.name if address else None):
        if value and value.strip():
            return value.strip()[:255]
    return None


def remark(document: Document, prefix: str | None = None) -> str:
    parts = [prefix] if prefix else []
    refs = document.references
    if refs.order_id:
        parts.append(f"{document.source} order {refs.order_id}")
    elif refs.shipping_id:
        parts.append(f"{document.source} shipment {refs.shipping_id}")
    else:
        parts.append(f"{document.source} {document.source_key}")
    market = document.marketplace
    if market is not None:
        name = getattr(market, "name", None)
        parts.append(f"marketplace {name} ({market.id})" if name else f"marketplace {market.id}")
    if document.kind is DocumentKind.CREDIT_NOTE and document.original_invoice_number:
        parts.append(f"credit note for invoice {document.original_invoice_number}")
    return ", ".join(parts)


def percent(rate: Decimal) -> Decimal:
    value = (rate * 100).normalize()
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value


def voucher_body(document: Document, category: Category, *, contact_id: str | None,
                 remark_prefix: str | None = None) -> dict[str, Any]:
    """The create body; raises PermanentError naming the field when it cannot be built."""
    ident = document.identity
    check_deliverable(document)
    if not document.number:
        raise PermanentError(f"document {ident} has no number; voucherNumber is mandatory",
                             code="voucherNumber")
    if document.issue_date is None:
        raise PermanentError(f"document {ident}: no issue date for voucherDate",
                             code="voucherDate")
    rows = [row for row in document.vat_breakdown if row.gross != 0 or row.vat != 0]
    if not category.split_allowed and len(rows) > 1:
        raise PermanentError(f"document {ident}: posting category {category.name!r} does not "
                             f"allow several tax rates ({len(rows)} on this document)",
                             code="splitAllowed")
    for i, row in enumerate(rows):
        if percent(row.rate) not in BOOKKEEPING_RATES and category.name not in OSS_CATEGORIES:
            raise PermanentError(
                f"document {ident}: voucherItems[{i}].taxRatePercent {percent(row.rate)} is "
                f"not a German rate; lexoffice books it only in an OSS category, i.e. with "
                f"the organisation's distanceSalesPrinciple = DESTINATION (category here: "
                f"{category.name!r})", code="taxRatePercent")
    items = [{"amount": row.gross, "taxAmount": row.vat, "taxRatePercent": percent(row.rate),
              "categoryId": category.id} for row in rows]
    gross = sum((row.gross for row in rows), Decimal(0))
    vat = sum((row.vat for row in rows), Decimal(0))
    if gross != document.totals.gross or vat != document.totals.vat:
        raise PermanentError(f"document {ident}: voucherItems add up to {gross} / {vat} but "
                             f"totals say {document.totals.gross} / {document.totals.vat}",
                             code="totals")
    if not items:
        raise PermanentError(f"document {ident}: nothing to book (all amounts are zero)",
                             code="voucherItems")
    body: dict[str, Any] = {
        "type": voucher_type(document),
        "voucherNumber": document.number,
        "voucherDate": document.issue_date.isoformat(),
        "shippingDate": (document.delivery_date or document.issue_date).isoformat(),
        "totalGrossAmount": document.totals.gross,
        "totalTaxAmount": document.totals.vat,
        "taxType": "gross",
        "voucherItems": items,
        "remark": remark(document, remark_prefix),
    }
    if contact_id:
        body["contactId"] = contact_id
        body["useCollectiveContact"] = False
    else:
        body["useCollectiveContact"] = True
        name = buyer_name(document)
        if name:
            body["contactName"] = name
    return body


def contact_body(document: Document) -> dict[str, Any]:
    """A customer contact for categories that need one (and contact = "per-buyer")."""
    name = buyer_name(document)
    if not name:
        raise PermanentError(f"document {document.identity}: the posting category needs a "
                             "contact but the document names no buyer", code="contactId")
    address = document.billing_address or document.shipping_address
    body: dict[str, Any] = {"version": 0, "roles": {"customer": {}}}
    if document.buyer.company or document.buyer.vat_id:
        company: dict[str, Any] = {"name": name}
        if document.buyer.vat_id:
            company["vatRegistrationId"] = document.buyer.vat_id
            company["allowTaxFreeInvoices"] = True
        body["company"] = company
    else:
        body["person"] = {"lastName": name}
    if address is not None:
        billing: dict[str, Any] = {"countryCode": address.country}
        if address.lines:
            billing["street"] = ", ".join(address.lines)[:255]
        if address.postal_code:
            billing["zip"] = address.postal_code
        if address.city:
            billing["city"] = address.city
        body["addresses"] = {"billing": [billing]}
    if document.buyer.email:
        body["emailAddresses"] = {"business": [document.buyer.email]}
    return body


def contact_name(contact: dict[str, Any]) -> str | None:
    company = contact.get("company") or {}
    person = contact.get("person") or {}
    return company.get("name") or person.get("lastName")
