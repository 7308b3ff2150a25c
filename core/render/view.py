"""Turns a Document into the plain, already formatted values the templates print.

Templates stay free of logic and locale rules: every amount, date and rate arrives as a
string formatted by Babel for the document's language, so an integrator's template override
cannot get a VAT line or a date format wrong by accident.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent

from syncd.errors import DocumentValidationError
from syncd.model import Address, Document, DocumentKind, Line, LineKind, Seller
from syncd.render.language import LOCALES
from syncd.render.taxcases import TaxDecision, decide
from syncd.render.translations import LABELS


@dataclass(frozen=True)
class Formatter:
    """Locale-bound formatting of money, dates, rates and quantities."""

    language: str
    currency: str

    @property
    def locale(self) -> str:
        return LOCALES[self.language]

    def money(self, amount: Decimal) -> str:
        # keyed by the digits as written: Decimal("1.5") == Decimal("1.50") prints otherwise
        return _money(str(amount), self.currency, self.locale)

    def country(self, code: str) -> str:
        return Locale.parse(self.locale).territories.get(code.upper(), code)

    def date(self, value: date | None) -> str:
        return format_date(value, format="medium", locale=self.locale) if value else ""

    def rate(self, rate: Decimal) -> str:
        return _rate(str(rate), self.locale)

    def quantity(self, quantity: Decimal) -> str:
        return _quantity(str(quantity), self.locale)


# Babel takes ~40 µs per amount; a batch repeats the same prices, rates and quantities, so
# each distinct one is formatted once per process (keyed by its digits and the locale).
@lru_cache(maxsize=4096)
def _money(amount: str, currency: str, locale: str) -> str:
    # decimal_quantization=False keeps a unit price like 5.835 exact instead of rounding
    text = format_currency(Decimal(amount), currency, locale=locale,
                           decimal_quantization=False)
    # a locale without a symbol of its own prints the ISO code: "PLN 100.00", not "PLN100.00"
    if text.startswith(currency) and text[len(currency):][:1].isdigit():
        text = f"{currency}\u00a0{text[len(currency):]}"
    elif text.startswith(f"-{currency}") and text[len(currency) + 1:][:1].isdigit():
        text = f"-{currency}\u00a0{text[len(currency) + 1:]}"
    return text


@lru_cache(maxsize=256)
def _rate(rate: str, locale: str) -> str:
    # the locale's own pattern ("19 %" in German, "19%" in English), 5.5 % kept exact
    return format_percent(Decimal(rate), locale=locale, decimal_quantization=False)


@lru_cache(maxsize=256)
def _quantity(quantity: str, locale: str) -> str:
    return format_decimal(Decimal(quantity), format="#,##0.###", locale=locale)


@dataclass(frozen=True)
class PartyView:
    """A name block: the lines of a printed address plus tax identifiers."""

    lines: tuple[str, ...]
    vat_id: str | None = None
    tax_number: str | None = None
    contact: tuple[str, ...] = ()


@dataclass(frozen=True)
class LineView:
    position: int
    description: str
    detail: str
    quantity: str
    unit_price: str
    vat_rate: str
    net: str
    gross: str
    kind: str
    negative: bool


@dataclass(frozen=True)
class RateView:
    rate: str
    net: str
    vat: str
    gross: str
    net_label: str
    vat_label: str


@dataclass(frozen=True)
class DocumentView:
    """Everything the default template prints for one document."""

    anchor: str
    language: str
    labels: dict[str, str]
    kind: str
    title: str
    number: str
    number_label: str
    issue_date: str
    issue_date_label: str
    delivery_date: str
    delivery_note: str
    references: tuple[tuple[str, str], ...]
    corrects: str
    seller: PartyView
    buyer: PartyView
    shipping: PartyView | None
    lines: tuple[LineView, ...]
    rates: tuple[RateView, ...]
    total_net: str
    total_vat: str
    total_gross: str
    total_gross_label: str
    notes: tuple[str, ...]
    footer: str | None
    logo: str | None
    document: Document = field(repr=False)


def address_lines(
    address: Address | None, *names: str | None, country: Callable[[str], str] = str,
    home: str | None = None,
) -> tuple[str, ...]:
    """The printed lines of an address, names first; the country unless it is `home`."""
    out: list[str] = []
    for name in names:
        if name and name not in out:
            out.append(name)
    if address is None:
        return tuple(out)
    for name in (address.company, address.name):
        if name and name not in out:
            out.append(name)
    out.extend(line for line in address.lines if line)
    city = " ".join(p for p in (address.postal_code, address.city) if p)
    if address.state:
        city = f"{city}, {address.state}" if city else address.state
    if city:
        out.append(city)
    if address.country != home:
        out.append(country(address.country))
    return tuple(out)


def resolve_seller(document: Document, fallback: Seller | None) -> Seller:
    """The document's seller, else the configured company; a document needs one to be legal."""
    seller = document.seller or fallback
    if seller is None:
        raise DocumentValidationError(
            document.identity, "seller",
            "no seller on the document and no [company] configured; §14 (4) UStG requires it",
        )
    return seller


GENERIC = ("shipping", "gift wrap", "promotion", "versand", "rabatt", "discount")
"""Source texts that only name a line's kind; the document's language replaces them."""


def _line_description(line: Line, labels: dict[str, str]) -> tuple[str, str]:
    """Item lines print the source's text and SKU; shipping, gift-wrap and promotion lines
    print the document language's word (a shipping line is "Versandkosten", not the SKU of
    the item it was shipped with)."""
    detail = []
    if line.kind is LineKind.ITEM:
        description = line.description
        if line.sku:
            detail.append(f"SKU {line.sku}")
        if line.asin:
            detail.append(f"ASIN {line.asin}")
    elif line.kind is LineKind.PROMOTION and line.promotion_for is not None:
        what = labels.get(line.promotion_for.value, line.promotion_for.value)
        description = labels["promotion_for"].format(what=what)
    else:
        description = labels[line.kind.value]
    if line.kind is LineKind.PROMOTION and not line.description.casefold().startswith(GENERIC):
        detail.append(line.description)  # a campaign's own name ("Aktion: 10 % auf …")
    if line.promotion_id:
        detail.append(line.promotion_id)
    return description, " · ".join(detail)


def _unit_price(line: Line) -> Decimal:
    """Net price per unit, to the cent where exact, else to four places (never misleading)."""
    if line.quantity == 0:
        return line.net
    unit = line.net / line.quantity
    cents = unit.quantize(Decimal("0.01"))
    return cents if cents == unit else unit.quantize(Decimal("0.0001")).normalize()


def build_view(
    document: Document,
    language: str,
    seller: Seller,
    *,
    index: int = 0,
    footer: str | None = None,
    logo: str | None = None,
) -> DocumentView:
    """The template values for `document` in `language`; raises when a required field lacks."""
    if document.kind not in (DocumentKind.INVOICE, DocumentKind.CREDIT_NOTE):
        raise DocumentValidationError(document.identity, "kind",
                                      f"only invoices and credit notes are rendered, not "
                                      f"{document.kind.value!r}")
    if not document.number:
        raise DocumentValidationError(document.identity, "number",
                                      "a document is rendered only after it has its number")
    if document.issue_date is None:
        raise DocumentValidationError(document.identity, "issue_date",
                                      "an invoice needs its issue date (§14 (4) Nr. 3 UStG)")
    labels = LABELS[language]
    fmt = Formatter(language, document.currency)
    credit = document.kind is DocumentKind.CREDIT_NOTE

    seller_country = seller.address.country
    decision = decide(document, seller)
    seller_vat = decision.seller_vat_id
    contact = tuple(x for x in (seller.email, seller.phone, seller.website) if x)
    seller_view = PartyView(
        lines=address_lines(seller.address, seller.name, country=fmt.country),
        vat_id=seller_vat,
        tax_number=seller.tax_number,
        contact=contact,
    )
    buyer = document.buyer
    buyer_view = PartyView(
        lines=address_lines(document.billing_address, buyer.company, buyer.name,
                            country=fmt.country, home=seller_country),
        vat_id=buyer.vat_id,
    )
    shipping = None
    if document.shipping_address and document.shipping_address != document.billing_address:
        shipping = PartyView(lines=address_lines(document.shipping_address,
                                                 country=fmt.country, home=seller_country))

    refs: list[tuple[str, str]] = []
    r = document.references
    if r.order_id:
        refs.append((labels["order_id"], r.order_id))
    if document.order_date:
        refs.append((labels["order_date"], fmt.date(document.order_date)))
    if r.shipping_id:
        refs.append((labels["shipment_id"], r.shipping_id))
    if r.purchase_order_number:
        refs.append((labels["po_number"], r.purchase_order_number))
    if document.marketplace is not None:
        refs.append((labels["marketplace"],
                     document.marketplace.name or document.marketplace.id))

    corrects = ""
    if credit and document.original_invoice_number:
        if document.original_invoice_date:
            corrects = labels["corrects"].format(
                number=document.original_invoice_number,
                date=fmt.date(document.original_invoice_date),
            )
        else:
            corrects = labels["corrects_no_date"].format(number=document.original_invoice_number)
    elif credit:
        raise DocumentValidationError(
            document.identity, "original_invoice_number",
            "a credit note must name the invoice it corrects (§31 (5) UStDV)",
        )

    lines = []
    for pos, line in enumerate(document.lines, start=1):
        description, detail = _line_description(line, labels)
        lines.append(LineView(
            position=pos,
            description=description,
            detail=detail,
            quantity=fmt.quantity(line.quantity),
            unit_price=fmt.money(_unit_price(line)),
            vat_rate=fmt.rate(line.vat_rate),
            net=fmt.money(line.net),
            gross=fmt.money(line.gross),
            kind=line.kind.value,
            negative=line.net < 0,
        ))
    rates = tuple(
        RateView(
            rate=fmt.rate(row.rate),
            net=fmt.money(row.net),
            vat=fmt.money(row.vat),
            gross=fmt.money(row.gross),
            net_label=labels["net_at_rate"].format(rate=fmt.rate(row.rate)),
            vat_label=labels["vat_at_rate"].format(rate=fmt.rate(row.rate)),
        )
        for row in document.vat_breakdown
    )

    notes = legal_notes(document, decision, language)

    return DocumentView(
        anchor=f"doc-{index}",
        language=language,
        labels=labels,
        kind=document.kind.value,
        title=labels["credit_note" if credit else "invoice"],
        number=document.number,
        number_label=labels["credit_number" if credit else "number"],
        issue_date=fmt.date(document.issue_date),
        issue_date_label=labels["credit_issue_date" if credit else "issue_date"],
        delivery_date=fmt.date(document.delivery_date),
        delivery_note="" if document.delivery_date else labels["delivery_is_issue_date"],
        references=tuple(refs),
        corrects=corrects,
        seller=seller_view,
        buyer=buyer_view,
        shipping=shipping,
        lines=tuple(lines),
        rates=rates,
        total_net=fmt.money(document.totals.net),
        total_vat=fmt.money(document.totals.vat),
        total_gross=fmt.money(document.totals.gross),
        total_gross_label=labels["credit_total_gross" if credit else "total_gross"],
        notes=tuple(notes),
        footer=footer,
        logo=logo,
        document=document,
    )



def legal_notes(document: Document, decision: TaxDecision, language: str) -> list[str]:
    """Exactly the notes the tax case needs, in `language`, each once.

    The case's own note (exemption, reverse charge, marketplace VAT) cites the law of the
    dispatch country; a source's citation is added only for taxed cases and only when it
    says something else (compared by meaning: case, spacing, punctuation and a shorter
    form of the same sentence do not count as different).
    """
    labels = LABELS[language]
    notes: list[str] = []
    if decision.note:
        notes.append(labels[decision.note].format(basis=decision.basis(language)))
    citations = document.legal.citations
    if decision.note is None and citations:
        citation = citations.get(language) or citations.get("en") or citations.get("de") \
            or next(iter(citations.values()))
        notes.append(citation)
    return dedupe(notes)


def _meaning(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def dedupe(notes: list[str]) -> list[str]:
    """Drop a note that is another's shorter form ("Steuerfreie Ausfuhrlieferung." vs the
    same with its citation): the longer, more precise one stays, at the first one's place."""
    out: list[str] = []
    for note in notes:
        key = _meaning(note)
        if not key:
            continue
        clash = next((i for i, kept in enumerate(out)
                      if _meaning(kept).startswith(key) or key.startswith(_meaning(kept))), None)
        if clash is None:
            out.append(note)
        elif len(key) > len(_meaning(out[clash])):
            out[clash] = note
    return out
