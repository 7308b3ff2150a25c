"""Generated invoices as Afterbuy XML API orders (`GetSoldItems` answers) and as PDFs."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from xml.etree.ElementTree import Element, SubElement

from syncd_afterbuy.sandbox.generator import GeneratedInvoice, money

STAMP = "%d.%m.%Y %H:%M:%S"


@dataclass
class Order:
    order_id: int
    invoice: GeneratedInvoice
    modified: datetime
    amazon_invoiced: bool = False
    external_invoice: bool = False
    invoiced: bool = True
    extra: dict[str, str] = field(default_factory=dict)


def orders_from(invoices: list[GeneratedInvoice], *, first_id: int = 480001,
                amazon_every: int = 0, modified: datetime | None = None) -> list[Order]:
    """One order per invoice; every `amazon_every`-th is flagged IsAmazonInvoiced."""
    orders = []
    for i, invoice in enumerate(invoices):
        stamp = modified or datetime.combine(invoice.issue_date, time(9)) + timedelta(minutes=i)
        orders.append(Order(first_id + i, invoice, stamp,
                            amazon_invoiced=amazon_every > 0 and i % amazon_every == 1))
    return orders


def _add(parent: Element, tag: str, text: str) -> Element:
    node = SubElement(parent, tag)
    node.text = text
    return node


def order_xml(parent: Element, order: Order) -> None:
    inv = order.invoice
    node = SubElement(parent, "Order")
    _add(node, "InvoiceNumber", inv.number if order.invoiced else "0")
    _add(node, "OrderID", str(order.order_id))
    _add(node, "OrderDate", datetime.combine(inv.issue_date, time(8)).strftime(STAMP))
    pay = SubElement(node, "PaymentInfo")
    _add(pay, "PaymentMethod", inv.payment)
    if inv.payment != "Rechnung":
        _add(pay, "PaymentDate", datetime.combine(inv.issue_date + timedelta(days=1),
                                                  time(12)).strftime(STAMP))
    _add(pay, "FullAmount", money(inv.gross))
    _add(pay, "InvoiceDate", datetime.combine(inv.issue_date, time(10)).strftime(STAMP))
    buyer = SubElement(SubElement(node, "BuyerInfo"), "BillingAddress")
    first, _, last = inv.buyer[0].partition(" ")
    _add(buyer, "FirstName", first)
    _add(buyer, "LastName", last)
    _add(buyer, "Company", inv.buyer[1])
    _add(buyer, "CountryISO", inv.buyer[3])
    _add(buyer, "TaxIDNumber", inv.buyer[2])
    items = SubElement(node, "SoldItems")
    shipping = Decimal(0)
    for n, line in enumerate(inv.lines):
        if line.description == "Versandkosten":
            shipping += line.gross
            continue
        item = SubElement(items, "SoldItem")
        _add(item, "ItemID", f"{order.order_id}{n:02d}")
        _add(item, "ItemTitle", line.description)
        _add(item, "ItemQuantity", str(line.quantity))
        _add(item, "ItemPrice", money(line.gross / line.quantity))
        _add(item, "TaxRate", money(line.vat_rate * 100))
        _add(item, "IsAmazonInvoiced", "1" if order.amazon_invoiced else "0")
        _add(item, "IsExternalInvoice", "1" if order.external_invoice else "0")
    ship = SubElement(node, "ShippingInfo")
    _add(ship, "ShippingMethod", "Versand DHL")
    _add(ship, "ShippingTotalCost", money(shipping))
    _add(ship, "ShippingTaxRate", "19,00")


def invoice_pdf(number: str) -> bytes:
    """A small, valid one-page PDF that names the invoice (what Afterbuy would render)."""
    import pikepdf

    pdf = pikepdf.new()
    font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font,
                                                Subtype=pikepdf.Name.Type1,
                                                BaseFont=pikepdf.Name.Helvetica))
    text = f"BT /F1 14 Tf 72 760 Td (Afterbuy Rechnung {number} - SYNTHETIC) Tj ET".encode()
    page = pikepdf.Dictionary(
        Type=pikepdf.Name.Page, MediaBox=[0, 0, 595, 842],
        Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)),
        Contents=pdf.make_stream(text))
    pdf.pages.append(pikepdf.Page(page))
    out = io.BytesIO()
    pdf.save(out, deterministic_id=True, compress_streams=False)
    return out.getvalue()
