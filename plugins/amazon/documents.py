"""Turns one VIDR group (a shipment's invoice or a return's credit note) into syncd items.

SHIPMENT groups become invoices, RETURN/REFUND groups credit notes with positive amounts (the
VIDR states them negative, so every amount is negated; promotions stay negative lines). Amazon's
own sums travel in `extra` (`amazon:total-amount`, `amazon:total-vat-amount`) because the upload
must repeat exactly those figures, sign included. Volatile columns (invoice status and its
description) are kept out of the document so that a status change never alters its content hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from syncd.connectors import ReadItem, Rejected, Skipped, Verdict
from syncd.errors import DocumentValidationError, InputError
from syncd.model import (
    Address,
    Buyer,
    Document,
    DocumentKind,
    Fulfilment,
    LegalNotes,
    Line,
    LineKind,
    Marketplace,
    References,
    build_document,
)
from syncd_amazon.grouping import Group
from syncd_amazon.totals import AmazonTotals, Parts, amazon_totals, row_parts
from syncd_amazon.vidr import BadLine, VidrRow

TARGET = "amazon"
SOURCE = "amazon"

MARKETPLACE_COUNTRY = {
    "A1PA6795UKMFR9": "DE", "A13V1IB3VIYZZH": "FR", "APJ6JRA9NG5V4": "IT",
    "A1RKKUPIHCS9HS": "ES", "A1F83G8C2ARO7P": "GB", "A1805IZSGTT6HS": "NL",
    "A2NODRKZP88ZB9": "SE", "A1C3SOZRARQ6R3": "PL", "AMEN7PMS3EDWL": "BE",
    "A28R8C7NBKEWEA": "IE",
}

MARKETPLACE_NAME = {
    "A1PA6795UKMFR9": "Amazon.de", "A13V1IB3VIYZZH": "Amazon.fr", "APJ6JRA9NG5V4": "Amazon.it",
    "A1RKKUPIHCS9HS": "Amazon.es", "A1F83G8C2ARO7P": "Amazon.co.uk", "A1805IZSGTT6HS": "Amazon.nl",
    "A2NODRKZP88ZB9": "Amazon.se", "A1C3SOZRARQ6R3": "Amazon.pl", "AMEN7PMS3EDWL": "Amazon.com.be",
    "A28R8C7NBKEWEA": "Amazon.ie",
}

INVOICE_TYPES = {"SHIPMENT"}
CREDIT_TYPES = {"RETURN", "REFUND"}
LANDED = {"InvoiceProcessing", "InvoiceUploaded", "CreditNoteProcessing", "CreditNoteUploaded"}
ACCEPTED = {"InvoiceUploaded", "CreditNoteUploaded"}
REJECTED = {"InvoiceRejected", "CreditNoteRejected"}
BY_AMAZON = {"InvoiceCreatedByAmazon", "CreditNoteCreatedByAmazon"}

# documented columns with no slot in the model that are still worth keeping on the document
_VOLATILE = {"invoice-status", "invoice-status-description", "invoice-number"}
_MAPPED = {
    "marketplace-id", "order-id", "shipping-id", "transaction-id", "transaction-type",
    "is-amazon-invoiced", "order-date", "shipment-date", "buyer-vat-number", "asin", "sku",
    "product-name", "quantity-purchased", "currency", "purchase-order-number", "fulfilled-by",
    "buyer-name", "buyer-company-name", "buyer-tax-registration-type", "billing-name",
    "recipient-name", "original-vat-invoice-number", "export-outside-eu",
    "citation-es", "citation-it", "citation-fr", "citation-de", "citation-en",
    *(f"{c}-{p}" for c in ("item", "item-promo", "shipping", "shipping-promo", "gift-wrap",
                           "gift-promo")
      for p in ("vat-incl-amount", "vat-amount", "vat-excl-amount", "vat-rate")),
    "item-promotion-id", "gift-promotion-id", "ship-promotion-id",
    *(f"ship-{x}" for x in ("address-1", "address-2", "address-3", "city", "state",
                            "postal-code", "country", "phone-number")),
    *(f"bill-{x}" for x in ("address-1", "address-2", "address-3", "city", "state",
                            "postal-code", "country")),
    "billing-phone-number",
}


@dataclass(frozen=True)
class GroupStatus:
    """What a VIDR says about a group (its items: Skipped, Verdict); never stored."""

    source_key: str
    marketplace_id: str
    shipping_id: str
    transaction_type: str
    transaction_id: str
    status: str
    description: str
    shipment_date: datetime | None
    amazon_invoiced: bool


def source_key(marketplace: str, shipping_id: str, ttype: str, tid: str) -> str:
    return f"{marketplace}/{shipping_id}/{ttype}/{tid}"


def parse_bool(row: VidrRow, column: str, name: str) -> bool:
    text = row.get(column).strip().lower()
    if text in ("", "false", "no", "n", "0"):
        return False
    if text in ("true", "yes", "y", "1"):
        return True
    raise InputError(f"{name}: line {row.line}, column {column}", f"{text!r} is not true/false")


def parse_datetime(row: VidrRow, column: str, name: str) -> datetime | None:
    text = row.get(column).strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"{name}: line {row.line}, column {column}",
                         f"{text!r} is not an ISO 8601 date") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_rate(row: VidrRow, column: str, name: str, default: Decimal | None) -> Decimal:
    text = row.get(column).strip()
    if not text:
        if default is None:
            raise InputError(f"{name}: line {row.line}, column {column}", "the VAT rate is empty")
        return default
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InputError(f"{name}: line {row.line}, column {column}",
                         f"{text!r} is not a rate") from None
    if not value.is_finite() or not Decimal(0) <= value < Decimal(1):
        raise InputError(f"{name}: line {row.line}, column {column}",
                         f"{text!r} is not a fraction such as 0.19")
    return value


def parse_quantity(row: VidrRow, name: str) -> Decimal:
    text = row.get("quantity-purchased").strip() or "1"
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InputError(f"{name}: line {row.line}, column quantity-purchased",
                         f"{text!r} is not a quantity") from None
    if not value.is_finite() or value < 0:
        raise InputError(f"{name}: line {row.line}, column quantity-purchased",
                         f"{text!r} is not a quantity")
    return value


def _first(rows: list[VidrRow], column: str) -> str:
    """The first non-empty value of `column` in the group."""
    for r in rows:
        value = r.values.get(column)
        if value:
            return value
    return ""


def _same(rows: list[VidrRow], column: str, name: str) -> str:
    values = {r.get(column).strip() for r in rows}
    if len(values) > 1:
        raise InputError(f"{name}: lines {', '.join(str(r.line) for r in rows)}, column {column}",
                         f"one shipment transaction has several values: {sorted(values)}")
    return values.pop()


def _lines_of(row: VidrRow, parts: Parts, sign: Decimal, name: str) -> list[Line]:
    """Item, promotion, shipping and gift-wrap lines of one VIDR row, signed for the document."""
    item_rate = parse_rate(row, "item-vat-rate", name, None)
    order_id = row.get("order-id") or None
    out: list[Line] = []
    specs = (
        ("item", LineKind.ITEM, None, None),
        ("item-promo", LineKind.PROMOTION, LineKind.ITEM, "item-promotion-id"),
        ("shipping", LineKind.SHIPPING, None, None),
        ("shipping-promo", LineKind.PROMOTION, LineKind.SHIPPING, "ship-promotion-id"),
        ("gift-wrap", LineKind.GIFT_WRAP, None, None),
        ("gift-promo", LineKind.PROMOTION, LineKind.GIFT_WRAP, "gift-promotion-id"),
    )
    for comp, kind, promo_for, promo_col in specs:
        incl, vat, excl = parts[comp]
        if kind is not LineKind.ITEM and not (incl or vat or excl):
            continue
        rate = parse_rate(row, f"{comp}-vat-rate", name, item_rate)
        product = row.get("product-name") or row.get("sku") or row.get("asin") or "Item"
        description = {
            LineKind.ITEM: product,
            LineKind.SHIPPING: "Shipping",
            LineKind.GIFT_WRAP: "Gift wrap",
            LineKind.PROMOTION: f"Promotion ({comp.removesuffix('-promo')})",
        }[kind]
        out.append(Line(
            kind=kind,
            description=description,
            quantity=parse_quantity(row, name) if kind is LineKind.ITEM else Decimal(1),
            sku=row.get("sku") or None,
            asin=row.get("asin") or None,
            order_id=order_id,
            promotion_id=(row.get(promo_col) or None) if promo_col else None,
            promotion_for=promo_for,
            net=sign * excl,
            vat_rate=rate,
            vat=sign * vat,
            gross=sign * incl,
        ))
    return out


def _address(row: VidrRow, prefix: str, name_col: str, phone_col: str,
             fallback_country: str) -> Address | None:
    lines = tuple(v for v in (row.get(f"{prefix}-address-{i}").strip() for i in (1, 2, 3)) if v)
    country = row.get(f"{prefix}-country").strip().upper() or fallback_country
    name = row.get(name_col).strip() or None
    if not (lines or name) or len(country) != 2:
        return None
    return Address(
        name=name,
        lines=lines,
        postal_code=row.get(f"{prefix}-postal-code").strip() or None,
        city=row.get(f"{prefix}-city").strip() or None,
        state=row.get(f"{prefix}-state").strip() or None,
        country=country,
        phone=row.get(phone_col).strip() or None,
    )


def _extra(rows: list[VidrRow], totals: AmazonTotals) -> dict[str, str]:
    extra: dict[str, str] = {
        "amazon:total-amount": totals.feed_total(),
        "amazon:total-vat-amount": totals.feed_vat(),
    }
    columns = [c for c in rows[0].values if c not in _MAPPED and c not in _VOLATILE]
    for column in columns:
        values = [r.get(column) for r in rows]
        if not any(values):
            continue
        if len(set(values)) == 1:
            extra[column] = values[0]
        else:  # per row, by position in the (sorted) group: never by file line, which moves
            for index, value in enumerate(values, start=1):
                if value:
                    extra[f"{column}[{index}]"] = value
    return extra


def build(group: Group, name: str) -> Document:
    """The Document of one group; InputError / DocumentValidationError name what is wrong."""
    # a stable order, so the same group in the next report is the same document (content hash)
    rows = sorted(group.rows, key=lambda r: (r.get("order-id"), r.get("order-item-id"), r.line))
    ttype = group.transaction_type
    if ttype in INVOICE_TYPES:
        kind, sign = DocumentKind.INVOICE, Decimal(1)
    elif ttype in CREDIT_TYPES:
        kind, sign = DocumentKind.CREDIT_NOTE, Decimal(-1)
    else:
        raise InputError(f"{name}: line {rows[0].line}, column transaction-type",
                         f"{ttype!r} is not SHIPMENT, RETURN or REFUND")
    marketplace = _same(rows, "marketplace-id", name)
    currency = _same(rows, "currency", name).upper()
    key = source_key(marketplace, group.shipping_id, ttype, group.transaction_id)
    parts = [row_parts(row, name=name) for row in rows]
    totals = amazon_totals(rows, name=name, parts=parts)
    lines = [line for row, p in zip(rows, parts, strict=True)
             for line in _lines_of(row, p, sign, name)]
    first = rows[0]
    shipped = parse_datetime(first, "shipment-date", name)
    ordered = parse_datetime(first, "order-date", name)
    ship_country = first.get("ship-country").strip().upper()
    from_country = first.get("ship-from-country").strip().upper()
    buyer_vat = _first(rows, "buyer-vat-number") or None
    export = any(parse_bool(r, "export-outside-eu", name) for r in rows)
    vat_free = all(line.vat == 0 for line in lines)
    cross_border = bool(ship_country and from_country and ship_country != from_country)
    reverse_charge = bool(buyer_vat) and vat_free and cross_border and not export
    cited = ((lang, _first(rows, f"citation-{lang}")) for lang in ("de", "en", "fr", "it", "es"))
    citations = {lang: text for lang, text in cited if text}
    orders = sorted({r.get("order-id") for r in rows if r.get("order-id")})
    fulfilled = first.get("fulfilled-by").strip().upper()
    doc = build_document(
        lines=lines,
        kind=kind,
        source=SOURCE,
        source_key=key,
        currency=currency,
        original_invoice_number=_first(rows, "original-vat-invoice-number") or None,
        delivery_date=shipped.date() if shipped else None,
        order_date=ordered.date() if ordered else None,
        buyer=Buyer(
            name=_first(rows, "buyer-name") or _first(rows, "billing-name") or None,
            company=_first(rows, "buyer-company-name") or None,
            vat_id=buyer_vat,
            tax_registration_type=_first(rows, "buyer-tax-registration-type") or None,
        ),
        billing_address=_address(first, "bill", "billing-name", "billing-phone-number",
                                 ship_country),
        shipping_address=_address(first, "ship", "recipient-name", "ship-phone-number",
                                  ship_country),
        marketplace=Marketplace(id=marketplace, country=MARKETPLACE_COUNTRY.get(marketplace),
                                name=MARKETPLACE_NAME.get(marketplace)),
        ship_from_country=from_country or None,
        seller_vat_id=_first(rows, "seller-vat-number") or None,
        fulfilment=(Fulfilment.FBA if fulfilled in ("FBA", "AFN")
                    else Fulfilment.FBM if fulfilled in ("MFN", "FBM") else None),
        references=References(
            order_id=orders[0] if len(orders) == 1 else None,
            shipping_id=group.shipping_id,
            transaction_id=group.transaction_id,
            purchase_order_number=_first(rows, "purchase-order-number") or None,
        ),
        legal=LegalNotes(
            reverse_charge=reverse_charge,
            intra_eu=reverse_charge,
            export=export,
            citations=citations,
        ),
        extra={**_extra(rows, totals),
               **({"amazon:shipment-date": shipped.isoformat()} if shipped else {})},
    )
    check_against_vidr(doc, totals)
    return doc


def check_against_vidr(doc: Document, totals: AmazonTotals) -> None:
    """The document's totals must be Amazon's sums (negated for a credit note), to the cent."""
    sign = Decimal(-1) if doc.kind is DocumentKind.CREDIT_NOTE else Decimal(1)
    for field, mine, theirs in (("totals.gross", doc.totals.gross, sign * totals.total),
                                ("totals.vat", doc.totals.vat, sign * totals.vat),
                                ("totals.net", doc.totals.net, sign * totals.excl)):
        if mine != theirs:
            raise DocumentValidationError(
                doc.identity, field, f"{mine} differs from Amazon's VIDR sum {theirs}")


def status_of(group: Group, name: str) -> GroupStatus:
    rows = group.rows
    first = rows[0]
    marketplace = first.get("marketplace-id").strip()
    try:
        shipped = parse_datetime(first, "shipment-date", name)
    except InputError:
        shipped = None
    try:
        by_amazon = any(parse_bool(r, "is-amazon-invoiced", name) for r in rows)
    except InputError:
        by_amazon = False
    return GroupStatus(
        source_key=source_key(marketplace, group.shipping_id, group.transaction_type,
                              group.transaction_id),
        marketplace_id=marketplace,
        shipping_id=group.shipping_id,
        transaction_type=group.transaction_type,
        transaction_id=group.transaction_id,
        status=_first(rows, "invoice-status"),
        description=_first(rows, "invoice-status-description"),
        shipment_date=shipped,
        amazon_invoiced=by_amazon,
    )


def items_of(group: Group, name: str) -> Iterator[ReadItem]:
    """Document, Rejected, Skipped and Verdict items of one group, in that order of precedence."""
    status = status_of(group, name)
    key = status.source_key
    if status.amazon_invoiced or status.status in BY_AMAZON:
        reason = ("is-amazon-invoiced=true: Amazon issues this document itself"
                  if status.amazon_invoiced else f"invoice-status {status.status}")
        yield Skipped(key, reason)
        return
    if group.bad_lines:
        yield Rejected(key, "; ".join(b.message for b in group.bad_lines),
                       {"lines": [b.raw for b in group.bad_lines]})
        return
    try:
        yield build(group, name)
    except (InputError, DocumentValidationError) as exc:
        yield Rejected(key, str(exc), {"lines": [r.values for r in group.rows][:50]})
        return
    if status.status in REJECTED or (status.description and status.status not in LANDED
                                     and status.status not in ACCEPTED):
        code = status.description.split(" ", 1)[0] if status.description[:1].isdigit() else None
        yield Verdict(key, TARGET, accepted=False,
                      message=status.description or status.status, code=code)
    elif status.status in ACCEPTED:
        yield Verdict(key, TARGET, accepted=True)


def orphan_item(bad: BadLine) -> Rejected:
    """A garbage line that names no shipment still becomes an error document, never lost.

    The key hashes the line's text so the same garbage in the next report is the same item.
    """
    digest = hashlib.sha256(bad.raw.encode()).hexdigest()[:16]
    return Rejected(f"unreadable-line/{digest}", bad.message, {"line": bad.raw})
