"""Rows of one (day, type) into documents: one invoice or credit note per document number.

Grouping is by `inv_rech_nr` / `rem_gs_nr`, never by order, so a split shipment with two
invoice numbers is two invoices (Xentral's module silently drops the second). Amainvoice's
number is kept on both kinds. Every row becomes lines for its item, shipping, gift wrap and
each promotion; a row whose amounts do not add up to its `brutto_total` / `netto_total` /
`tax_total`, or that has an unreadable field, rejects its document naming day, type, row index
and field. Rows without a number are rejected on their own; the rest of the day flows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from syncd.connectors import ReadItem, Rejected
from syncd.errors import DocumentValidationError
from syncd.model import (
    Attachment,
    AttachmentRole,
    Buyer,
    Document,
    DocumentKind,
    Fulfilment,
    LegalNotes,
    Line,
    LineKind,
    Link,
    LinkKind,
    LinkMatch,
    Marketplace,
    References,
    build_document,
)
from syncd_amainvoice import rows as r
from syncd_amainvoice.transport import gc_paused, unit_name

SOURCE = "amainvoice"
NUMBER = {"inv": "inv_rech_nr", "rem": "rem_gs_nr"}
DATE = {"inv": "inv_date", "rem": "rem_date"}
KIND = {"inv": DocumentKind.INVOICE, "rem": DocumentKind.CREDIT_NOTE}
MONEY = (("itemprice", LineKind.ITEM, None), ("shippingprice", LineKind.SHIPPING, None),
         ("giftwrapprice", LineKind.GIFT_WRAP, None),
         ("itempromotiondiscount", LineKind.PROMOTION, LineKind.ITEM),
         ("shippromotiondiscount", LineKind.PROMOTION, LineKind.SHIPPING),
         ("giftwrappromotiondiscount", LineKind.PROMOTION, LineKind.GIFT_WRAP))
DESCRIPTION = {"shippingprice": "Versandkosten", "giftwrapprice": "Geschenkverpackung",
               "itempromotiondiscount": "Rabatt", "shippromotiondiscount": "Versandrabatt",
               "giftwrappromotiondiscount": "Rabatt Geschenkverpackung"}
MARKETPLACES = {"amazon.de": "DE", "amazon.fr": "FR", "amazon.it": "IT", "amazon.es": "ES",
                "amazon.co.uk": "GB", "amazon.nl": "NL", "amazon.pl": "PL", "amazon.se": "SE",
                "amazon.com.be": "BE"}
EXTRA_FIELDS = ("order_id", "carrier", "trackingnumber", "fulfillmentcenterid",
                "shipservicelevel", "isbusinessorder", "vatcheck", "rem_gs_nr_real", "reason",
                "remreturnshipcost", "remsondererstattung", "returndate", "shipmentdate",
                "conditiontype", "saleschannel")


def key_of(kind: DocumentKind, number: str) -> str:
    return f"{kind.value}:{number}"


@dataclass
class Group:
    """The rows of one document number, with their indexes in the answer."""

    number: str
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)


def group_rows(answer: list[dict[str, str]], day: date, kind: str
               ) -> tuple[list[Group], list[Rejected]]:
    groups: dict[str, Group] = {}
    orphans: list[Rejected] = []
    for index, row in enumerate(answer):
        number = r.text(row, NUMBER[kind])
        if not number:
            where = f"{unit_name(day, kind)} row {index}"
            orphans.append(Rejected(f"row:{unit_name(day, kind)}:{index}",
                                    f"{where}: field {NUMBER[kind]}: missing", dict(row)))
            continue
        groups.setdefault(number, Group(number)).rows.append((index, row))
    return list(groups.values()), orphans


def _lines(index: int, row: dict[str, str], kind: str) -> list[Line]:
    vat_rate = r.rate(row)
    qty = r.quantity(row, "quantity", "quantitypurchased") if kind == "rem" else r.quantity(
        row, "quantitypurchased", "quantity")
    sign = 1
    if kind == "rem":  # refunds may come negative; a credit note states what it credits
        probe = r.amount(row, "brutto_total") or r.amount(row, "itemprice") or \
            r.amount(row, "itemprice_netto")
        sign = -1 if probe is not None and probe < 0 else 1
    lines: list[Line] = []
    order_id = r.text(row, "amazonorderid") or r.text(row, "orderid") or None
    for base, line_kind, promotion_for in MONEY:
        got = r.amounts(row, base, vat_rate)
        if got is None:
            continue
        got = got.scaled(sign)
        if line_kind is LineKind.PROMOTION:
            got = got.negative()
        is_item = line_kind is LineKind.ITEM
        lines.append(Line(
            kind=line_kind,
            description=(r.text(row, "productname") or r.text(row, "sku") or "Artikel")
            if is_item else DESCRIPTION[base],
            quantity=qty if is_item or line_kind is LineKind.GIFT_WRAP else Decimal(1),
            sku=r.text(row, "sku") or None if is_item else None,
            asin=r.text(row, "asin") or None if is_item else None,
            order_id=order_id,
            promotion_id=(r.text(row, "itempromotionid") or None)
            if line_kind is LineKind.PROMOTION else None,
            promotion_for=promotion_for, net=got.net, vat_rate=vat_rate, vat=got.vat,
            gross=got.gross))
    if not lines:
        raise r.RowError("itemprice", "the row has no amount at all")
    for total_field, attr in (("brutto_total", "gross"), ("netto_total", "net"),
                              ("tax_total", "vat")):
        stated = r.amount(row, total_field)
        if stated is None:
            continue
        computed = sum((getattr(line, attr) for line in lines), Decimal(0))
        if stated * sign != computed:
            raise r.RowError(total_field, f"{stated * sign} differs from the sum of the "
                                          f"row's amounts {computed}")
    return lines


@dataclass
class Built:
    """What one (day, type) produced: items in order, plus invoice numbers per order."""

    items: list[ReadItem]
    invoices_by_order: dict[str, list[str]]
    """Invoice numbers per Amazon order in this answer (split shipments have several)."""


def build(answer: list[dict[str, str]], day: date, kind: str, *, orders: bool = False
          ) -> Built:
    """Documents (and Rejected) of one answer; `orders` adds the expert-mode order documents.

    The cyclic GC is paused meanwhile (see `gc_paused`).
    """
    with gc_paused():
        return _build(answer, day, kind, orders)


def _build(answer: list[dict[str, str]], day: date, kind: str, orders: bool) -> Built:
    groups, items_rejected = group_rows(answer, day, kind)
    items: list[ReadItem] = list(items_rejected)
    by_order: dict[str, list[str]] = defaultdict(list)
    order_groups: dict[str, list[Group]] = defaultdict(list)
    for group in groups:
        item = _document(group, day, kind, orders)
        items.append(item)
        if isinstance(item, Document) and item.references.order_id and kind == "inv":
            by_order[item.references.order_id].append(item.number or "")
            order_groups[item.references.order_id].append(group)
    if orders and kind == "inv":
        for order_id, members in order_groups.items():
            items.append(_order(order_id, members, day))
    return Built(items, dict(by_order))


def _document(group: Group, day: date, kind: str, orders: bool) -> ReadItem:
    doc_kind = KIND[kind]
    key = key_of(doc_kind, group.number)
    where = unit_name(day, kind)
    index, first = group.rows[0]
    try:
        lines: list[Line] = []
        for index, row in group.rows:
            lines.extend(_lines(index, row, kind))
        index, first = group.rows[0]
        fields = _header(first, kind, doc_kind, index)
        for index, row in group.rows[1:]:  # noqa: B007 - `index` names the row on error
            if (r.text(row, "currency") or fields["currency"]) != fields["currency"]:
                raise r.RowError("currency", f"{r.text(row, 'currency')!r} differs from the "
                                             f"document's {fields['currency']}")
        index = group.rows[0][0]
        links = _links(first, kind, fields, orders)
        return build_document(lines=lines, links=tuple(links), **fields)
    except r.RowError as exc:
        return Rejected(key, f"{where} row {index}: {exc}", {"rows": [x for _, x in group.rows]})
    except (DocumentValidationError, ValueError) as exc:
        return Rejected(key, f"{where} document {group.number} (rows "
                             f"{', '.join(str(i) for i, _ in group.rows)}): {exc}",
                        {"rows": [x for _, x in group.rows]})


def _header(row: dict[str, str], kind: str, doc_kind: DocumentKind, index: int) -> dict:
    currency = r.text(row, "currency").upper()
    if not currency:
        raise r.RowError("currency", "missing")
    issue = r.day(row, DATE[kind])
    name, company = r.text(row, "buyername"), r.text(row, "buyercompanyname")
    billing = r.address(row, "bill", name, company, r.text(row, "buyerphonenumber"),
                        r.text(row, "shipcountry"))
    shipping = r.address(row, "ship", r.text(row, "recipientname") or name, "",
                         r.text(row, "shipphonenumber"))
    channel = r.text(row, "saleschannel")
    marketplace = Marketplace(id=channel, country=MARKETPLACES.get(channel.lower())) \
        if channel else None
    business = r.text(row, "isbusinessorder").lower() in ("1", "true", "yes", "ja", "y")
    vat_id = r.text(row, "uid") or None
    link = r.text(row, "documentlink")
    number = r.text(row, NUMBER[kind])
    extra = {f: r.text(row, f) for f in EXTRA_FIELDS if r.text(row, f)}
    extra["business"] = "true" if business else "false"
    reverse = bool(vat_id) and business and r.rate(row) == 0
    return {
        "kind": doc_kind, "source": SOURCE, "source_key": key_of(doc_kind, number),
        "currency": currency, "number": number, "issue_date": issue,
        "delivery_date": r.day(row, "shipmentdate", required=False) if kind == "inv" else None,
        "buyer": Buyer(name=name or None, company=company or None, vat_id=vat_id,
                       email=r.text(row, "buyeremail") or None,
                       tax_registration_type="business" if business else None),
        "billing_address": billing, "shipping_address": shipping,
        "marketplace": marketplace,
        "fulfilment": Fulfilment.FBA if r.text(row, "fulfillmentchannel").upper() == "AFN"
        else Fulfilment.FBM,
        "references": References(order_id=r.text(row, "amazonorderid")
                                 or r.text(row, "orderid") or None,
                                 shipping_id=r.text(row, "trackingnumber") or None),
        "legal": LegalNotes(reverse_charge=reverse, intra_eu=reverse),
        "attachments": (Attachment(filename=f"{number}.pdf", media_type="application/pdf",
                                   role=AttachmentRole.PDF, url=link),) if link else (),
        "extra": extra,
    }


def _links(row: dict[str, str], kind: str, fields: dict, orders: bool) -> list[Link]:
    """A credit note links to the invoice its rows name (`inv_rech_nr`), else to the one
    invoice of its Amazon order (`LinkMatch(order_id=…)`, looked up by the engine when it delivers):
    the link depends only on the rows, so the same rows always give the same content."""
    links: list[Link] = []
    order_id = fields["references"].order_id
    if kind == "rem":
        invoice = r.text(row, "inv_rech_nr")
        if invoice:
            links.append(Link(kind=LinkKind.INVOICE,
                              source_key=key_of(DocumentKind.INVOICE, invoice)))
            fields["original_invoice_number"] = invoice
            fields["original_invoice_date"] = r.day(row, "inv_date", required=False)
        elif order_id:
            links.append(Link(kind=LinkKind.INVOICE, match=LinkMatch(order_id=order_id)))
    if orders and order_id:
        links.append(Link(kind=LinkKind.ORDER, source_key=key_of(DocumentKind.ORDER, order_id),
                          required=kind == "inv"))
    return links


def _order(order_id: str, groups: Iterable[Group], day: date) -> ReadItem:
    """Expert mode: the Amazon order as a document, from its invoice rows of this day."""
    members = sorted(groups, key=lambda g: g.number)
    key = key_of(DocumentKind.ORDER, order_id)
    try:
        lines = [line for g in members for i, row in g.rows for line in _lines(i, row, "inv")]
        fields = _header(members[0].rows[0][1], "inv", DocumentKind.ORDER, members[0].rows[0][0])
        fields.update(source_key=key, number=order_id, attachments=(),
                      order_date=fields["delivery_date"])
        fields["extra"] = {**fields["extra"], "invoices": ",".join(g.number for g in members)}
        return build_document(lines=lines, **fields)
    except (r.RowError, DocumentValidationError, ValueError) as exc:
        return Rejected(key, f"{unit_name(day, 'inv')} order {order_id}: {exc}")


def iter_documents(items: Iterable[ReadItem]) -> Iterator[Document]:
    return (item for item in items if isinstance(item, Document))
