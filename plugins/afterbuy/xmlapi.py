"""The optional Afterbuy XML API: `GetSoldItems`, paged with `HasMoreItems` and `RangeID`.

Requests follow the published envelope (`AfterbuyGlobal` with PartnerToken, AccountToken,
CallName) and filters (`DateFilter` on ModDate or InvoiceDate with `dd.mm.yyyy HH:MM:SS`,
`RangeID` from the order after `LastOrderID`). Answers are parsed with defusedxml, so entity
tricks and external references are refused. Orders flagged `IsAmazonInvoiced` or
`IsExternalInvoice` were invoiced elsewhere and are skipped (a double booking otherwise);
orders without an invoice number are not invoices yet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from xml.etree.ElementTree import Element, SubElement, tostring

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from syncd.connectors import Rejected, Skipped
from syncd.errors import ConfigError, DocumentValidationError, InputError
from syncd.model import (
    CENT,
    Address,
    Buyer,
    Document,
    DocumentKind,
    Line,
    LineKind,
    References,
    build_document,
)
from syncd_afterbuy.amounts import (
    ValueProblem,
    country_code,
    parse_money,
    parse_number,
    parse_rate,
)
from syncd_afterbuy.config import AfterbuyConfig
from syncd_afterbuy.invoices import SOURCE, pdf_attachment

STAMP = "%d.%m.%Y %H:%M:%S"
RANGE_TO = "2147483647"


@dataclass(frozen=True)
class Page:
    items: list[Document | Rejected | Skipped]
    has_more: bool
    last_order_id: int | None


def request_xml(config: AfterbuyConfig, *, date_from: datetime, date_to: datetime,
                date_field: str = "ModDate", after_order: int | None = None) -> bytes:
    assert config.partner_token and config.account_token
    root = Element("Request")
    glob = SubElement(root, "AfterbuyGlobal")
    for tag, value in (("PartnerToken", config.partner_token.get_secret_value()),
                       ("AccountToken", config.account_token.get_secret_value()),
                       ("CallName", "GetSoldItems"), ("DetailLevel", "0"),
                       ("ErrorLanguage", "DE")):
        SubElement(glob, tag).text = value
    for tag, value in (("RequestAllItems", "1"), ("MaxSoldItems", str(config.api_page_size)),
                       ("OrderDirection", "0")):
        SubElement(root, tag).text = value
    filters = SubElement(root, "DataFilter")
    dates = SubElement(filters, "Filter")
    SubElement(dates, "FilterName").text = "DateFilter"
    values = SubElement(dates, "FilterValues")
    SubElement(values, "DateFrom").text = date_from.strftime(STAMP)
    SubElement(values, "DateTo").text = date_to.strftime(STAMP)
    SubElement(values, "FilterValue").text = date_field
    if after_order is not None:
        ids = SubElement(filters, "Filter")
        SubElement(ids, "FilterName").text = "RangeID"
        values = SubElement(ids, "FilterValues")
        SubElement(values, "ValueFrom").text = str(after_order + 1)
        SubElement(values, "ValueTo").text = RANGE_TO
    return b'<?xml version="1.0" encoding="utf-8"?>' + tostring(root, encoding="unicode").encode()


def _text(node: Element | None, path: str) -> str:
    found = node.find(path) if node is not None else None
    return (found.text or "").strip() if found is not None and found.text else ""


def _flag(node: Element, path: str) -> bool:
    return _text(node, path).lower() in ("1", "true", "yes")


def parse_answer(body: bytes, config: AfterbuyConfig, base_dir: str | None = None) -> Page:
    where = "Afterbuy GetSoldItems answer"
    try:
        root = SafeET.fromstring(body, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise InputError(where, f"refused hostile XML ({type(exc).__name__})") from None
    except SafeET.ParseError as exc:
        raise InputError(where, f"unreadable XML: {exc}") from None
    status = _text(root, "CallStatus")
    if status not in ("Success", "Warning"):
        errors = root.findall("./Result/ErrorList/Error")
        text = "; ".join(f"{_text(e, 'ErrorCode')}: {_text(e, 'ErrorDescription')}"
                         for e in errors) or f"CallStatus {status or 'missing'}"
        if any(w in text.lower() for w in ("token", "autor", "auth", "berechtig")):
            raise ConfigError([f"plugins.afterbuy.partner_token/account_token: {text}"])
        raise InputError(where, text)
    result = root.find("Result")
    if result is None:
        raise InputError(where, "no <Result>")
    items = [order_item(order, config, base_dir) for order in result.findall("./Orders/Order")]
    last = _text(result, "LastOrderID")
    return Page(items, _flag(result, "HasMoreItems"),
                int(last) if last.isdigit() else None)


def _date(text: str) -> date | None:
    if not text:
        return None
    for fmt in (STAMP, "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueProblem(f"{text!r} is not a date (dd.mm.yyyy HH:MM:SS)")


def order_item(order: Element, config: AfterbuyConfig,
               base_dir: str | None = None) -> Document | Rejected | Skipped:
    order_id = _text(order, "OrderID")
    number = _text(order, "InvoiceNumber")
    if number.strip("0") == "":  # Afterbuy writes 0 for "no invoice number"
        number = ""
    sold = order.findall("./SoldItems/SoldItem")
    flags = sorted({flag for s in sold for flag in ("IsAmazonInvoiced", "IsExternalInvoice")
                    if _flag(s, flag)})
    if flags:
        return Skipped(number or f"order-{order_id}", f"order {order_id} is invoiced outside "
                       f"Afterbuy ({'/'.join(flags)}); not booked twice")
    if not number:
        return Skipped(f"order-{order_id}", f"order {order_id} has no invoice number yet")
    field = "SoldItems"
    try:
        lines = []
        for item in sold:
            field = f"SoldItem {_text(item, 'ItemID')}"
            quantity = parse_number(_text(item, "ItemQuantity") or "1", ",")
            gross = (parse_money(_text(item, "ItemPrice"), ",") * quantity).quantize(CENT)
            rate = parse_rate(_text(item, "TaxRate") or "0", ",")
            lines.append(_line(_text(item, "ItemTitle"), quantity, gross, rate, LineKind.ITEM))
        field = "ShippingInfo"
        ship = _text(order, "ShippingInfo/ShippingTotalCost") or _text(
            order, "ShippingInfo/ShippingCost")
        if ship and parse_money(ship, ",") != 0:
            lines.append(_line(_text(order, "ShippingInfo/ShippingMethod") or "Versand",
                               Decimal(1), parse_money(ship, ","),
                               parse_rate(_text(order, "ShippingInfo/ShippingTaxRate") or "0",
                                          ","), LineKind.SHIPPING))
        field = "PaymentInfo/FullAmount"
        full = parse_money(_text(order, "PaymentInfo/FullAmount"), ",")
        total = sum((line.gross for line in lines), Decimal(0))
        if full != total:
            raise ValueProblem(f"FullAmount {full} is not the sum of the items {total}")
        field = "PaymentInfo/InvoiceDate"
        issue = _date(_text(order, "PaymentInfo/InvoiceDate")) or _date(_text(order, "OrderDate"))
        paid = _date(_text(order, "PaymentInfo/PaymentDate"))
        field = "BuyerInfo/BillingAddress/CountryISO"
        billing = order.find("./BuyerInfo/BillingAddress")
        country = _text(billing, "CountryISO") or _text(billing, "Country")
        country = country_code(country) if country else config.default_country
        credit = total < 0
        if credit:
            lines = [line.model_copy(update={"net": -line.net, "vat": -line.vat,
                                             "gross": -line.gross}) for line in lines]
        name = " ".join(p for p in (_text(billing, "FirstName"), _text(billing, "LastName")) if p)
        buyer = Buyer(name=name or None, company=_text(billing, "Company") or None,
                      vat_id=_text(billing, "TaxIDNumber") or None,
                      email=_text(billing, "Mail") or None)
        extra = {"afterbuy:order_id": order_id, "afterbuy:via": "xml-api"}
        if paid:
            extra["afterbuy:paid_date"] = paid.isoformat()
        if _text(order, "PaymentInfo/PaymentMethod"):
            extra["afterbuy:payment_method"] = _text(order, "PaymentInfo/PaymentMethod")
        pdf = pdf_attachment(config, base_dir, number)
        return build_document(
            kind=DocumentKind.CREDIT_NOTE if credit else DocumentKind.INVOICE, source=SOURCE,
            source_key=number, number=number, currency=config.default_currency,
            issue_date=issue, buyer=buyer,
            billing_address=Address(name=buyer.name, company=buyer.company, country=country),
            references=References(order_id=order_id or None), attachments=(pdf,) if pdf else (),
            extra=extra, lines=lines)
    except (ValueProblem, DocumentValidationError, ValueError) as exc:
        return Rejected(number, f"Afterbuy order {order_id} (invoice {number}): {field}: {exc}",
                        {"order_id": order_id, "field": field})


def _line(title: str, quantity: Decimal, gross: Decimal, rate: Decimal, kind: LineKind) -> Line:
    net = (gross / (1 + rate)).quantize(CENT, ROUND_HALF_UP)
    return Line(kind=kind, description=title or "Artikel", quantity=quantity, net=net,
                vat_rate=rate, vat=gross - net, gross=gross)


Post = Callable[[bytes], bytes]
"""Sends one request body to the API endpoint and returns the answer body."""
