"""Sample documents: the benchmark's reference invoice and the documentation samples.

Amounts are built the way marketplaces state them: a gross price per line, net and VAT
derived per line and rounded to the cent, so the samples exercise real rounding.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from syncd.model import (
    Address,
    Buyer,
    Document,
    DocumentKind,
    LegalNotes,
    Line,
    LineKind,
    Marketplace,
    References,
    Seller,
    build_document,
)

CENT = Decimal("0.01")

SELLER = Seller(
    name="Nordlicht Handels GmbH",
    address=Address(company="Nordlicht Handels GmbH", lines=("Hafenstraße 12",),
                    postal_code="20457", city="Hamburg", country="DE"),
    vat_ids={"DE": "DE123456789", "FR": "FR12345678901", "IT": "IT12345678901",
             "ES": "ESB12345678"},
    tax_number="27/123/45678",
    email="buchhaltung@nordlicht.example",
    phone="+49 40 1234567",
    website="nordlicht.example",
)

BUYERS: dict[str, tuple[str, Address]] = {
    "de": ("Erika Mustermann", Address(name="Erika Mustermann", lines=("Lindenallee 5",),
                                       postal_code="50667", city="Köln", country="DE")),
    "en": ("John Smith", Address(name="John Smith", lines=("12 Baker Street",),
                                 postal_code="NW1 6XE", city="London", country="GB")),
    "fr": ("Camille Dubois", Address(name="Camille Dubois", lines=("8 rue de la Paix",),
                                     postal_code="75002", city="Paris", country="FR")),
    "it": ("Giulia Rossi", Address(name="Giulia Rossi", lines=("Via Roma 21",),
                                   postal_code="20121", city="Milano", country="IT")),
    "es": ("Lucía García", Address(name="Lucía García", lines=("Calle Mayor 3",),
                                   postal_code="28013", city="Madrid", country="ES")),
}

MARKETPLACES = {"de": ("A1PA6795UKMFR9", "Amazon.de"), "en": ("A1F83G8C2ARO7P", "Amazon.co.uk"),
                "fr": ("A13V1IB3VIYZZH", "Amazon.fr"), "it": ("APJ6JRA9NG5V4", "Amazon.it"),
                "es": ("A1RKKUPIHCS9HS", "Amazon.es")}


def _marketplace(language: str, country: str | None) -> Marketplace:
    """As the Amazon connector gives it: the id and the printed name."""
    marketplace_id, name = MARKETPLACES[language]
    return Marketplace(id=marketplace_id, country=country, name=name)

RATES = {"de": ("0.19", "0.07"), "en": ("0.19", "0.07"), "fr": ("0.2", "0.055"),
         "it": ("0.22", "0.04"), "es": ("0.21", "0.04")}


def gross_line(description: str, gross: str, rate: str, quantity: int = 1,
               kind: LineKind = LineKind.ITEM, **extra: object) -> Line:
    """A line from its gross amount, net and VAT rounded to the cent as marketplaces do."""
    g, r = Decimal(gross), Decimal(rate)
    net = (g / (1 + r)).quantize(CENT, rounding=ROUND_HALF_UP)
    return Line(kind=kind, description=description, quantity=Decimal(quantity), net=net,
                vat_rate=r, vat=g - net, gross=g, **extra)


def reference_invoice(number: int = 1) -> Document:
    """The benchmark's reference: a three-line German B2C invoice from amazon.de."""
    name, address = BUYERS["de"]
    return build_document(
        kind=DocumentKind.INVOICE, source="amazon", source_key=f"302-{number:07d}-1",
        currency="EUR", number=f"INV-2026-{number:06d}", issue_date=date(2026, 11, 20),
        delivery_date=date(2026, 11, 19), seller=SELLER, buyer=Buyer(name=name),
        billing_address=address, marketplace=_marketplace("de", "DE"),
        references=References(order_id=f"302-{number:07d}-4455667",
                              shipping_id=f"DzQ{number:07d}"),
        lines=(
            gross_line("Edelstahl-Thermoskanne 1 l", "29.99", "0.19", sku="TK-1000",
                       asin="B0C1234567"),
            gross_line("Bio-Kaffeebohnen 500 g", "12.49", "0.07", quantity=2, sku="KB-500"),
            gross_line("Versand", "4.99", "0.19", kind=LineKind.SHIPPING),
        ),
    )


def sample_invoice(language: str, number: str = "INV-2026-000042") -> Document:
    """A two-rate invoice with a promotion, in the marketplace of `language`."""
    name, address = BUYERS[language]
    high, low = RATES[language]
    return build_document(
        kind=DocumentKind.INVOICE, source="amazon", source_key=f"sample-{language}",
        currency="EUR" if language != "en" else "GBP", number=number,
        issue_date=date(2026, 11, 20), delivery_date=date(2026, 11, 19), seller=SELLER,
        buyer=Buyer(name=name), billing_address=address,
        marketplace=_marketplace(language, address.country),
        references=References(order_id="305-1234567-7654321", shipping_id="DzQ8812345",
                              purchase_order_number="PO-4711" if language == "de" else None),
        lines=(
            gross_line("Edelstahl-Thermoskanne 1 l", "29.99", high, sku="TK-1000",
                       asin="B0C1234567"),
            gross_line("Bio-Kaffeebohnen 500 g", "12.49", low, quantity=2, sku="KB-500"),
            gross_line("Aktion: 10 % auf Thermoskannen", "-3.00", high,
                       kind=LineKind.PROMOTION, promotion_for=LineKind.ITEM,
                       promotion_id="PROMO-TK10"),
            gross_line("Versand", "4.99", high, kind=LineKind.SHIPPING),
        ),
    )


def sample_credit_note(language: str, number: str = "CN-2026-000007") -> Document:
    """A refund of one item plus shipping, correcting `sample_invoice`."""
    name, address = BUYERS[language]
    high, _low = RATES[language]
    return build_document(
        kind=DocumentKind.CREDIT_NOTE, source="amazon", source_key=f"refund-{language}",
        currency="EUR" if language != "en" else "GBP", number=number,
        original_invoice_number="INV-2026-000042", original_invoice_date=date(2026, 11, 20),
        issue_date=date(2026, 11, 28), delivery_date=date(2026, 11, 19), seller=SELLER,
        buyer=Buyer(name=name), billing_address=address,
        marketplace=_marketplace(language, address.country),
        references=References(order_id="305-1234567-7654321"),
        lines=(
            gross_line("Edelstahl-Thermoskanne 1 l", "29.99", high, sku="TK-1000"),
            gross_line("Versand", "4.99", high, kind=LineKind.SHIPPING),
        ),
    )


def _b2b_fr(number: str, source_key: str, legal: LegalNotes, description: str) -> Document:
    address = Address(company="Atelier Lumière SARL", name="Service comptabilité",
                      lines=("14 avenue Victor Hugo",), postal_code="69002", city="Lyon",
                      country="FR")
    return build_document(
        kind=DocumentKind.INVOICE, source="amazon", source_key=source_key, currency="EUR",
        number=number, issue_date=date(2026, 11, 20), delivery_date=date(2026, 11, 18),
        seller=SELLER, buyer=Buyer(company="Atelier Lumière SARL", vat_id="FR98765432109"),
        billing_address=address, marketplace=_marketplace("fr", "FR"),
        references=References(order_id="171-7654321-1234567",
                              purchase_order_number="BC-2026-118"),
        legal=legal,
        lines=(
            gross_line(description, "420.00", "0", quantity=20, sku="TK-1000"),
            gross_line("Versand", "18.00", "0", kind=LineKind.SHIPPING),
        ),
    )


def sample_intra_eu(number: str = "INV-2026-000045") -> Document:
    """Goods to a French company: VAT-exempt intra-Community supply (category K)."""
    return _b2b_fr(number, "b2b-fr-goods", LegalNotes(intra_eu=True),
                   "Edelstahl-Thermoskanne 1 l")


def sample_reverse_charge(number: str = "INV-2026-000043") -> Document:
    """A service to a French company: reverse charge (category AE) with citation texts."""
    return _b2b_fr(number, "b2b-fr", LegalNotes(
        reverse_charge=True,
        citations={"de": "Steuerschuldnerschaft des Leistungsempfängers (§ 13b UStG).",
                   "fr": "Autoliquidation, article 283-2 du CGI et article 196 de la "
                         "directive 2006/112/CE.",
                   "en": "Reverse charge, Art. 196 Directive 2006/112/EC."},
    ), "Gravurservice Thermoskannen")


def sample_export(number: str = "INV-2026-000044") -> Document:
    """An export to Switzerland: zero-rated export supply."""
    address = Address(name="Lukas Meier", lines=("Bahnhofstrasse 7",), postal_code="8001",
                      city="Zürich", country="CH")
    return build_document(
        kind=DocumentKind.INVOICE, source="shop", source_key="export-ch", currency="EUR",
        number=number, issue_date=date(2026, 11, 20), delivery_date=date(2026, 11, 20),
        seller=SELLER, buyer=Buyer(name="Lukas Meier"), billing_address=address,
        legal=LegalNotes(export=True),
        lines=(gross_line("Edelstahl-Thermoskanne 1 l", "25.20", "0", sku="TK-1000"),),
    )
