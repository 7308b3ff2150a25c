"""syncd `Document` → Xentral v3 bodies (invoice, credit note, sales order), field by field.

Pure functions: lookups (product ids, the customer, the sales order, the linked invoice) are
resolved by the target and passed in, so the mapping is testable without a server. See
docs/xentral.md for the table this implements.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from syncd.errors import PermanentError
from syncd.model import Address, Document, DocumentKind, Fulfilment, Line, LineKind

EU = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE",
    "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
})
PRICE_STEP = Decimal("1e-8")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Products:
    """Product numbers for lines that carry no SKU of their own (from the plugin config)."""

    shipping: str
    discount: str
    giftwrap: str


def product_number(line: Line, products: Products, where: str) -> str:
    """The Xentral product number a line is booked on: its SKU, or the configured product."""
    if line.kind is LineKind.SHIPPING:
        return products.shipping
    if line.kind is LineKind.GIFT_WRAP:
        return products.giftwrap
    if line.kind is LineKind.PROMOTION:
        return products.discount
    if not line.sku:
        raise PermanentError(f"{where}: line {line.description!r} has no SKU, so no Xentral "
                             "product can be found for it", code="no-sku")
    return line.sku


def needed_products(document: Document, products: Products) -> list[str]:
    where = document_label(document)
    return list(dict.fromkeys(product_number(line, products, where) for line in document.lines))


def document_label(document: Document) -> str:
    kind = {DocumentKind.INVOICE: "invoice", DocumentKind.CREDIT_NOTE: "credit note",
            DocumentKind.ORDER: "order"}[document.kind]
    return f"{kind} {document.number or document.identity}"


def destination(document: Document) -> str | None:
    address = document.shipping_address or document.billing_address
    return address.country.upper() if address else None


def taxation(document: Document, seller_country: str) -> str:
    """domestic / eu / export from the seller's and the destination's country and the VAT ID.

    `eu` is Xentral's tax-free intra-community supply: another EU country *and* a buyer VAT ID
    (or the source says reverse charge / intra-EU). B2C deliveries into the EU stay
    `domestic` with the line's own (destination) rate.
    """
    country = destination(document)
    if document.legal.export or (country is not None and country not in EU):
        return "export"
    other = country is not None and country != seller_country.upper()
    if document.legal.intra_eu or document.legal.reverse_charge or (
            other and document.buyer.vat_id):
        return "eu"
    return "domestic"


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)  # PHP's round(): half away from 0


def line_totals(price: Decimal, quantity: Decimal, rate_percent: Decimal
                ) -> tuple[Decimal, Decimal]:
    """(net, gross) of a line as Xentral books it: unrounded price × quantity, VAT per line."""
    net = price * quantity
    return _cents(net), _cents(net * (1 + rate_percent / 100))


def unit_price(line: Line) -> Decimal:
    """Net unit price (≤ 8 decimals) from which Xentral gets back the line's net *and* gross.

    Marketplace documents are gross-based (the buyer paid the gross; the net is derived), so
    the price is the gross divided by (1 + rate) and the quantity, not the rounded net divided
    by the quantity: 158.74 gross at 7 % for 2 units is 74.17757009, not 148.36 / 2.
    """
    quantity = line.quantity
    if quantity <= 0:
        raise PermanentError(f"line {line.description!r}: quantity {quantity} must be "
                             "positive", code="bad-quantity")
    exact = line.gross / (1 + line.vat_rate) / quantity
    nearest = exact if exact == exact.quantize(PRICE_STEP) else exact.quantize(PRICE_STEP)
    for step in sorted(range(-20, 21), key=abs):  # the grid point nearest that gives both
        price = nearest + step * PRICE_STEP
        if line_totals(price, quantity, line.vat_rate * 100) == (line.net, line.gross):
            return price.normalize()
    raise PermanentError(f"line {line.description!r}: net {line.net} / gross {line.gross} at "
                         f"{line.vat_rate * 100:g} % cannot be written as {quantity} × a unit "
                         "price", code="bad-price")


def line_item(line: Line, product_id: str, currency: str) -> dict[str, Any]:
    quantity = line.quantity  # shipping and discounts are 1; gift wrap may be per unit
    return {
        "product": {"id": product_id},
        "quantity": quantity.normalize(),
        "name": line.description[:255],
        "price": {"net": {"amount": unit_price(line), "currency": currency}},
        "taxRate": (line.vat_rate * 100).normalize(),
    }


def postal_address(address: Address | None, document: Document) -> dict[str, Any]:
    buyer = document.buyer
    name = (address.name if address else None) or buyer.name or buyer.company or (
        address.company if address else None)
    if not name:
        raise PermanentError(f"{document_label(document)}: no buyer or address name; Xentral "
                             "needs documentAddress.name", code="no-name")
    out: dict[str, Any] = {"name": name[:255]}
    company = (address.company if address else None) or buyer.company
    if company and company != name:
        out["type"] = "company"
        out["department"] = company
    if address is not None:
        if address.lines:
            out["street"] = address.lines[0]
        if len(address.lines) > 1:
            out["addressSupplement"] = ", ".join(address.lines[1:])
        for key, value in (("zipCode", address.postal_code), ("city", address.city),
                           ("state", address.state), ("phone", address.phone)):
            if value:
                out[key] = value
        out["country"] = address.country.upper()
    if buyer.email:
        out["email"] = buyer.email
    return out


def project_id(document: Document, fba: str | None, fbm: str | None) -> str | None:
    if document.fulfilment is Fulfilment.FBA:
        return fba
    if document.fulfilment is Fulfilment.FBM:
        return fbm
    return None


def business_document(document: Document, *, customer_id: str,
                      product_ids: Mapping[str, str], products: Products,
                      seller_country: str, project: str | None) -> dict[str, Any]:
    """Fields all three kinds share (CreateBusinessDocumentData, financials, lineItems)."""
    where = document_label(document)
    body: dict[str, Any] = {"address": {"id": customer_id}}
    if project:
        body["project"] = {"id": project}
    day = document.issue_date or document.order_date
    if day is not None:
        body["documentDate"] = day.isoformat()
    if document.language:
        body["language"] = document.language
    body["documentAddress"] = postal_address(document.billing_address
                                             or document.shipping_address, document)
    if document.buyer.vat_id:
        body["vatId"] = document.buyer.vat_id
    body["financials"] = {"currency": document.currency,
                          "tax": {"taxation": taxation(document, seller_country)}}
    items = []
    for line in document.lines:
        number = product_number(line, products, where)
        product = product_ids.get(number)
        if product is None:
            raise PermanentError(f"{where}: product {number!r} is not in Xentral",
                                 code="product-missing")
        items.append(line_item(line, product, document.currency))
    body["lineItems"] = items
    return body


def invoice_body(document: Document, *, sales_order_id: str | None, **common: Any
                 ) -> dict[str, Any]:
    body = business_document(document, **common)
    body["documentNumber"] = document_number(document)
    if sales_order_id:
        body["salesOrder"] = {"id": sales_order_id}
    if document.delivery_date:
        body["deliveryDate"] = document.delivery_date.isoformat()
    if document.references.purchase_order_number:
        body["customerOrderNumber"] = document.references.purchase_order_number[:255]
    return body


def credit_note_body(document: Document, *, invoice_id: str | None, **common: Any
                     ) -> dict[str, Any]:
    body = business_document(document, **common)
    body["documentNumber"] = document_number(document)
    if invoice_id:
        body["invoice"] = {"id": invoice_id}
    if document.delivery_date:
        body["deliveryDate"] = document.delivery_date.isoformat()
    return body


def sales_order_body(document: Document, order_id: str, **common: Any) -> dict[str, Any]:
    """Expert mode: the Amazon order as a Xentral sales order (no auto-dispatch)."""
    body = business_document(document, **common)
    body["externalOrderNumber"] = order_id
    body["externalOrderId"] = order_id
    body["autoDispatch"] = False
    ship = document.shipping_address
    billing = document.billing_address
    if ship is not None and billing is not None and ship != billing:
        body["deviatingShipToAddress"] = postal_address(ship, document)
    return body


def document_number(document: Document) -> str:
    if not document.number:
        raise PermanentError(f"document {document.identity} has no number; Xentral keeps the "
                             "source's number as documentNumber (the engine numbers documents "
                             "from number_series() before delivery)", code="no-number")
    if len(document.number) > 64:
        raise PermanentError(f"number {document.number!r} is longer than Xentral's 64 "
                             "characters for documentNumber", code="number-too-long")
    return document.number


def expected_gross(body: Mapping[str, Any]) -> Decimal:
    """What Xentral will total for `body`: the sum of its lines' gross (VAT per line)."""
    return sum((line_totals(Decimal(str(item["price"]["net"]["amount"])),
                            Decimal(str(item["quantity"])), Decimal(str(item["taxRate"])))[1]
                for item in body["lineItems"]), Decimal(0))
