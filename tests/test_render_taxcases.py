"""The golden tax-case test: every case rendered as PDF and as CII XML, both checked.

For each case of docs/rendering.md's table: the seller VAT ID printed, the legal note (exactly
once, in the document's language, citing the dispatch country's law), the EN 16931 category
codes, the XSD and the EN 16931 Schematron; and the same for the case's credit note.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import facturx
import pytest

from syncd.model import (
    Address,
    Buyer,
    Document,
    DocumentKind,
    LegalNotes,
    LineKind,
    Marketplace,
    References,
    Seller,
    build_document,
)
from syncd.render import RenderOptions
from syncd.render.cii import cii_xml
from syncd.render.pdf import PdfRenderer
from syncd.render.samples import gross_line
from syncd.render.taxcases import TaxCase, decide
from syncd.render.view import dedupe

from .render_helpers import pdf_text, xpath
from .test_render_einvoice import _schematron_failures

SELLER = Seller(
    name="Elbwerk Handels GmbH",
    address=Address(company="Elbwerk Handels GmbH", lines=("Am Hafen 3",), postal_code="04103",
                    city="Leipzig", country="DE"),
    vat_ids={"DE": "DE811111111", "FR": "FR40123456789", "PL": "PL5260000001",
             "GB": "GB123456789"},
    tax_number="231/111/11111",
    email="rechnung@elbwerk.example",
)
PLACES = {
    "DE": Address(name="Erika Muster", lines=("Lindenallee 5",), postal_code="50667",
                  city="Köln", country="DE"),
    "FR": Address(company="Atelier Lumière SARL", name="Camille Dubois",
                  lines=("14 avenue Victor Hugo",), postal_code="69002", city="Lyon",
                  country="FR"),
    "AT": Address(name="Anna Huber", lines=("Ringstraße 1",), postal_code="1010",
                  city="Wien", country="AT"),
    "CH": Address(name="Lukas Meier", lines=("Bahnhofstrasse 7",), postal_code="8001",
                  city="Zürich", country="CH"),
    "NO": Address(name="Ola Nordmann", lines=("Karl Johans gate 1",), postal_code="0154",
                  city="Oslo", country="NO"),
    "GB": Address(name="John Smith", lines=("12 Baker Street",), postal_code="NW1 6XE",
                  city="London", country="GB"),
}
AMAZON_RC = LegalNotes(reverse_charge=True, intra_eu=True,
                       citations={"fr": "Autoliquidation", "de": "Steuerschuldnerschaft des "
                                  "Leistungsempfängers", "en": "Reverse charge"})


@dataclass(frozen=True)
class Case:
    name: str
    case: TaxCase
    ship_from: str
    ship_to: str
    lines: tuple[tuple[str, str], ...]  # (gross, rate)
    vat_id: str | None
    categories: tuple[str, ...]
    note: dict[str, str] = field(default_factory=dict)  # language -> expected sentence
    absent: tuple[str, ...] = ()
    buyer_vat: str | None = None
    currency: str = "EUR"
    legal: LegalNotes = field(default_factory=LegalNotes)
    seller_vat_id: str | None = None
    language: str = "de"


CASES = [
    Case("domestic-b2c", TaxCase.DOMESTIC, "DE", "DE", (("29.99", "0.19"), ("12.49", "0.07")),
         "DE811111111", ("S",)),
    Case("domestic-b2b", TaxCase.DOMESTIC, "DE", "DE", (("119.00", "0.19"),), "DE811111111",
         ("S",), buyer_vat="DE999999999"),
    Case("reduced-rate", TaxCase.DOMESTIC, "DE", "DE", (("10.70", "0.07"),), "DE811111111",
         ("S",)),
    Case("zero-rated-item", TaxCase.DOMESTIC, "DE", "DE", (("29.99", "0.19"), ("5.00", "0")),
         "DE811111111", ("S", "Z")),
    Case("intra-eu-from-de", TaxCase.INTRA_EU, "DE", "FR", (("100.00", "0"),), "DE811111111",
         ("K",), buyer_vat="FR98765432109", legal=AMAZON_RC, language="fr",
         note={"fr": "Exonération de TVA, livraison intracommunautaire de biens (§ 4 Nr. 1 b "
                     "i. V. m. § 6a UStG).",
               "de": "Steuerfreie innergemeinschaftliche Lieferung (§ 4 Nr. 1 b i. V. m. "
                     "§ 6a UStG)."},
         absent=("Autoliquidation", "262 ter", "FR40123456789", "Steuerschuldnerschaft")),
    Case("intra-eu-pan-eu-pl", TaxCase.INTRA_EU, "PL", "FR", (("100.00", "0"),),
         "PL5260000001", ("K",), buyer_vat="FR98765432109", legal=AMAZON_RC,
         note={"de": "Steuerfreie innergemeinschaftliche Lieferung (art. 42 ustawy o VAT).",
               "en": "VAT-exempt intra-Community supply of goods (art. 42 ustawy o VAT)."},
         absent=("DE811111111", "Autoliquidation")),
    Case("oss-registered-in-destination", TaxCase.DISTANCE_SALE, "DE", "FR",
         (("36.00", "0.2"),), "FR40123456789", ("S",), seller_vat_id="FR40123456789",
         language="fr"),
    Case("oss-home-registration", TaxCase.DISTANCE_SALE, "DE", "AT", (("24.00", "0.2"),),
         "DE811111111", ("S",)),
    Case("export-ch", TaxCase.EXPORT, "DE", "CH", (("84.03", "0"),), "DE811111111", ("G",),
         legal=LegalNotes(export=True, citations={"de": "Steuerfreie Ausfuhrlieferung"}),
         note={"de": "Steuerfreie Ausfuhrlieferung (§ 4 Nr. 1 a i. V. m. § 6 UStG)."}),
    Case("export-no", TaxCase.EXPORT, "DE", "NO", (("250.00", "0"),), "DE811111111", ("G",),
         language="en", note={"en": "VAT-exempt export supply (§ 4 Nr. 1 a i. V. m. § 6 UStG)."}),
    Case("uk-above-135", TaxCase.EXPORT, "DE", "GB", (("200.00", "0"),), "DE811111111",
         ("G",), currency="GBP", language="en",
         note={"en": "VAT-exempt export supply (§ 4 Nr. 1 a i. V. m. § 6 UStG)."}),
    Case("uk-marketplace-collects", TaxCase.UK_MARKETPLACE, "DE", "GB", (("50.00", "0"),),
         None, ("O",), currency="GBP", language="en",
         note={"en": "UK VAT is accounted for by the online marketplace as the deemed "
                     "supplier; this invoice charges none."},
         absent=("GB123456789", "DE811111111")),
]


def build(case: Case, kind: DocumentKind = DocumentKind.INVOICE) -> Document:
    credit = kind is DocumentKind.CREDIT_NOTE
    address = PLACES[case.ship_to]
    lines = [gross_line(f"Artikel {i}", gross, rate, sku=f"SKU-{i}")
             for i, (gross, rate) in enumerate(case.lines, start=1)]
    return build_document(
        kind=kind, source="golden", source_key=f"{case.name}-{kind.value}",
        currency=case.currency, number=("CN-2026-000002" if credit else "INV-2026-000001"),
        issue_date=date(2026, 11, 30 if credit else 20), delivery_date=date(2026, 11, 19),
        original_invoice_number="INV-2026-000001" if credit else None,
        original_invoice_date=date(2026, 11, 20) if credit else None,
        seller=SELLER, seller_vat_id=case.seller_vat_id, ship_from_country=case.ship_from,
        buyer=Buyer(name=address.name, company=address.company, vat_id=case.buyer_vat),
        billing_address=address, shipping_address=address, language=case.language,
        marketplace=Marketplace(id="A1PA6795UKMFR9", country="DE", name="Amazon.de"),
        references=References(order_id="302-1111111-2222222"),
        legal=case.legal, lines=lines,
    )


@pytest.fixture(scope="module")
def renderer():
    return PdfRenderer(RenderOptions(), workers=1)


@pytest.mark.parametrize("kind", [DocumentKind.INVOICE, DocumentKind.CREDIT_NOTE])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_tax_case(case, kind, renderer):
    document = build(case, kind)
    decision = decide(document, SELLER)
    assert decision.case is case.case
    assert decision.seller_vat_id == case.vat_id

    text = pdf_text(renderer.render(document))
    if case.vat_id:
        assert case.vat_id in text
    expected = case.note.get(case.language)
    if expected:
        assert text.count(expected) == 1, text
    elif not case.note:
        for word in ("innergemeinschaftliche", "Ausfuhrlieferung", "Steuerschuldnerschaft",
                     "intracommunautaire", "exportation", "deemed supplier"):
            assert word not in text
    for absent in case.absent:
        assert absent not in text
    if kind is DocumentKind.CREDIT_NOTE:
        assert "INV-2026-000001" in text and ("20" in text)

    for language, sentence in case.note.items():
        xml = cii_xml(document.model_copy(update={"language": language}), SELLER,
                      language=language)
        assert sentence in xpath(xml, "rsm:ExchangedDocument/ram:IncludedNote/ram:Content")
    xml = cii_xml(document, SELLER)
    codes = xpath(xml, "//ram:SpecifiedLineTradeSettlement/ram:ApplicableTradeTax/"
                       "ram:CategoryCode")
    assert tuple(sorted(set(codes))) == tuple(sorted(case.categories))
    seller_ids = xpath(xml, "//ram:SellerTradeParty/ram:SpecifiedTaxRegistration/"
                            "ram:ID[@schemeID='VA']")
    assert seller_ids == ([case.vat_id] if case.vat_id else [])
    for absent in case.absent:
        assert absent.encode() not in xml
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931") is True
    assert _schematron_failures(xml) == []


def test_credit_note_names_its_invoice_number_and_date(renderer):
    text = pdf_text(renderer.render(build(CASES[0], DocumentKind.CREDIT_NOTE)))
    assert "Korrektur zur Rechnung INV-2026-000001 vom 20.11.2026" in text


def test_notes_are_deduplicated_by_meaning():
    long = "Steuerfreie Ausfuhrlieferung (§ 4 Nr. 1 a i. V. m. § 6 UStG)."
    assert dedupe([long, "Steuerfreie Ausfuhrlieferung"]) == [long]
    assert dedupe(["Steuerfreie Ausfuhrlieferung.", long]) == [long]
    assert dedupe(["reverse charge", "Reverse Charge."]) == ["reverse charge"]
    assert dedupe(["A note.", "Another note."]) == ["A note.", "Another note."]


def test_lines_use_the_documents_language_and_no_item_sku_on_shipping(renderer):
    address = PLACES["DE"]
    document = build_document(
        kind=DocumentKind.INVOICE, source="golden", source_key="labels", currency="EUR",
        number="INV-2026-000009", issue_date=date(2026, 11, 20), seller=SELLER,
        buyer=Buyer(name=address.name), billing_address=address, language="de",
        marketplace=Marketplace(id="A1PA6795UKMFR9", country="DE", name="Amazon.de"),
        lines=[gross_line("Thermoskanne", "29.99", "0.19", sku="TK-1"),
               gross_line("Shipping", "4.99", "0.19", kind=LineKind.SHIPPING, sku="TK-1"),
               gross_line("Gift wrap", "2.38", "0.19", kind=LineKind.GIFT_WRAP),
               gross_line("Promotion (shipping)", "-4.99", "0.19", kind=LineKind.PROMOTION,
                          promotion_for=LineKind.SHIPPING),
               gross_line("Buch", "10.70", "0.07")],
    )
    text = pdf_text(renderer.render(document))
    for word in ("Versandkosten", "Geschenkverpackung", "Rabatt auf Versandkosten",
                 "Amazon.de", "19 %", "7 %"):
        assert word in text, word
    for word in ("Shipping", "Gift wrap", "Promotion (shipping)", "A1PA6795UKMFR9", "7%"):
        assert word not in text, word
    assert text.count("TK-1") == 1


def test_foreign_currency_without_a_local_symbol_is_spaced(renderer):
    from syncd.render.view import Formatter

    assert Formatter("en", "PLN").money(Decimal("100.00")) == "PLN\u00a0100.00"
    assert Formatter("de", "PLN").money(Decimal("100.00")) == "100,00\u00a0PLN"
    assert Formatter("en", "PLN").money(Decimal("-5.00")) == "-PLN\u00a05.00"


@pytest.mark.parametrize(("mode", "case", "b2b", "expected"), [
    ("auto", "domestic-b2b", True, True),
    ("auto", "domestic-b2c", False, False),
    ("auto", "intra-eu-from-de", True, False),
    ("xrechnung", "intra-eu-from-de", True, True),
    ("zugferd", "export-ch", False, False),
    ("none", "domestic-b2b", True, False),
])
def test_einvoice_for_b2b_documents_by_mode(mode, case, b2b, expected):
    from syncd.render.einvoice import is_b2b

    document = build(next(c for c in CASES if c.name == case))
    assert is_b2b(document) is b2b
    file = PdfRenderer(RenderOptions(einvoice=mode), workers=1).einvoice(document)
    assert (file is not None) is expected
    if file is not None:
        assert file.filename == "INV-2026-000001.xml"
        assert file.media_type == "application/xml"
        assert facturx.xml_check_xsd(file.data, flavor="factur-x", level="en16931") is True
        if mode == "xrechnung":
            assert b"xrechnung" in file.data
