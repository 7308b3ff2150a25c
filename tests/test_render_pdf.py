"""PDF invoices and credit notes: content per §14 (4) UStG, languages, Amazon rules, batching."""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pikepdf
import pytest
from PIL import Image

from syncd.connectors import Company
from syncd.errors import ConfigError, DocumentValidationError
from syncd.model import (
    Address,
    Buyer,
    DocumentKind,
    LegalNotes,
    Line,
    LineKind,
    Marketplace,
    build_document,
)
from syncd.render import RenderOptions
from syncd.render.language import LANGUAGES
from syncd.render.pdf import PdfRenderer
from syncd.render.samples import (
    SELLER,
    gross_line,
    reference_invoice,
    sample_credit_note,
    sample_export,
    sample_intra_eu,
    sample_invoice,
    sample_reverse_charge,
)

from .render_helpers import page_count, pdf_text

TITLES = {"de": ("Rechnung", "Rechnungskorrektur"), "en": ("Invoice", "Credit note"),
          "fr": ("Facture", "Avoir"), "it": ("Fattura", "Nota di credito"),
          "es": ("Factura", "Factura rectificativa")}

# sample_invoice per language, formatted per locale (two VAT rates, one promotion):
# grand total label and amount, a net-per-rate label, a VAT label, and the amounts per rate
INVOICE_TOTALS = {
    "de": ("Rechnungsbetrag", "44,47 €", "Nettobetrag zu 19 %", "USt. 7 %",
           ("26,87 €", "5,11 €", "11,67 €", "0,82 €")),
    "en": ("Invoice total", "£44.47", "Net amount at 19%", "VAT 7%",
           ("£26.87", "£5.11", "£11.67", "£0.82")),
    "fr": ("Total TTC", "44,47 €", "Montant HT à 20 %", "TVA 5,5 %",
           ("26,65 €", "5,33 €", "11,84 €", "0,65 €")),
    "it": ("Totale fattura", "44,47 €", "Imponibile al 22%", "IVA 4%",
           ("26,21 €", "5,77 €", "12,01 €", "0,48 €")),
    "es": ("Total factura", "44,47 €", "Base imponible al 21 %", "IVA 4 %",
           ("26,43 €", "5,55 €", "12,01 €", "0,48 €")),
}
NEGATIVE_AMOUNT = re.compile(r"(?<!\w)-\s?(\d+[.,]\d\d|[£€])")
ORIGINAL_DATE = {"de": "20.11.2026", "en": "20 Nov 2026", "fr": "20 nov. 2026",
                 "it": "20 nov 2026", "es": "20 nov 2026"}


@pytest.fixture(scope="module")
def rendered() -> dict[str, bytes]:
    """Every sample rendered in ONE batch: the fast path under test, and fast tests."""
    docs = {f"invoice-{lang}": sample_invoice(lang, f"INV-{lang.upper()}-1")
            for lang in LANGUAGES}
    docs |= {f"credit-{lang}": sample_credit_note(lang, f"CN-{lang.upper()}-1")
             for lang in LANGUAGES}
    docs["reverse"] = sample_reverse_charge()
    docs["intra-eu"] = sample_intra_eu()
    docs["export"] = sample_export()
    docs["reference"] = reference_invoice(7)
    pdfs = PdfRenderer(RenderOptions(), workers=1).render_many(list(docs.values()))
    return dict(zip(docs, pdfs, strict=True))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_invoice_in_each_language(rendered, lang):
    text = pdf_text(rendered[f"invoice-{lang}"])
    total_label, total, net_label, vat_label, per_rate = INVOICE_TOTALS[lang]
    assert f"{TITLES[lang][0]} INV-{lang.upper()}-1" in text
    assert f"{total_label} {total}" in text
    assert net_label in text and vat_label in text
    assert " ".join(per_rate) in text  # net and VAT per rate, highest rate first
    assert "305-1234567-7654321" in text and "DzQ8812345" in text  # order and shipment id
    assert "Nordlicht Handels GmbH" in text and "Hafenstraße 12" in text
    assert "SKU TK-1000" in text
    assert "Amazon." in text and "A1PA6795UKMFR9" not in text  # the marketplace by name
    # no other document of the batch leaked into this file
    assert sum(f"INV-{x.upper()}-1" in text for x in LANGUAGES) == 1
    assert page_count(rendered[f"invoice-{lang}"]) == 1


@pytest.mark.parametrize("lang", LANGUAGES)
def test_credit_note_in_each_language(rendered, lang):
    text = pdf_text(rendered[f"credit-{lang}"])
    assert f"{TITLES[lang][1]} CN-{lang.upper()}-1" in text
    assert "INV-2026-000042" in text and ORIGINAL_DATE[lang] in text
    # credit notes carry positive amounts: nothing negative, and never a double negative
    assert NEGATIVE_AMOUNT.search(text) is None, text
    assert "--" not in text
    assert INVOICE_TOTALS[lang][1].replace("44,47", "34,98").replace("44.47", "34.98") in text


def test_german_invoice_has_every_ustg_field(rendered):
    text = pdf_text(rendered["invoice-de"])
    for expected in (
        "Nordlicht Handels GmbH", "20457 Hamburg",        # seller name and address
        "USt-IdNr. DE123456789", "Steuernummer 27/123/45678",
        "Erika Mustermann", "Lindenallee 5", "50667 Köln",  # buyer name and address
        "Rechnungsnummer", "INV-DE-1", "Rechnungsdatum", "20.11.2026",
        "Liefer-/Leistungsdatum", "19.11.2026",
        "Edelstahl-Thermoskanne 1 l", "Bio-Kaffeebohnen 500 g",  # description and quantity
        "Nettobetrag zu 19 % USt. 19 % Nettobetrag zu 7 % USt. 7 % "  # net and VAT per rate
        "26,87 € 5,11 € 11,67 € 0,82 €",
        "Summe netto Summe Umsatzsteuer 38,54 € 5,93 €", "Rechnungsbetrag 44,47 €",
        "Ihre Bestellreferenz (PO)", "PO-4711",
    ):
        assert expected in text, expected
    assert "2 5,835 € 7 % 11,67 €" in text  # quantity, exact unit price, rate, net


def test_promotion_is_a_negative_line_and_totals_add_up(rendered):
    text = pdf_text(rendered["invoice-de"])
    assert "Aktion: 10 % auf Thermoskannen" in text and "Rabatt auf Artikel" in text
    assert "-2,52 €" in text
    assert "--" not in text


def test_no_bank_or_payment_details(rendered):
    for pdf in rendered.values():
        text = pdf_text(pdf).lower()
        for word in ("iban", "bic", "bankverbindung", "bank details", "kontonummer"):
            assert word not in text


def test_reverse_charge_with_citation(rendered):
    text = pdf_text(rendered["reverse"])  # billing country FR: French
    assert "Facture INV-2026-000043" in text
    # the case's own note, citing the directive for a cross-border B2B service, printed once;
    # the source's differently worded citation of the same rule is not printed beside it
    assert text.count("Autoliquidation : TVA due par le preneur (articles 194 et 196 de la "
                      "directive 2006/112/CE).") == 1
    assert "article 283-2 du CGI" not in text
    assert "N° TVA de l'acheteur: FR98765432109" in text
    assert "N° TVA DE123456789" in text  # the seller supplies from Germany
    assert "FR12345678901" not in text
    assert "Atelier Lumière SARL" in text and "France" in text
    assert NEGATIVE_AMOUNT.search(text) is None


def test_intra_eu_supply(rendered):
    text = pdf_text(rendered["intra-eu"])
    assert "Facture INV-2026-000045" in text
    # goods leave Germany: German law, translated, with the German VAT ID
    assert ("Exonération de TVA, livraison intracommunautaire de biens (§ 4 Nr. 1 b i. V. m. "
            "§ 6a UStG).") in text
    assert "262 ter" not in text and "Autoliquidation" not in text
    assert "N° TVA DE123456789" in text
    assert "Total TTC 438,00 €" in text


def test_case_note_in_the_language_and_citation_falls_back_when_not_translated():
    doc = sample_reverse_charge().model_copy(update={"language": "it"})
    text = pdf_text(PdfRenderer(RenderOptions(), workers=1).render(doc))
    assert "Inversione contabile: IVA dovuta dal cessionario (artt. 194 e 196 direttiva " \
           "2006/112/CE)." in text
    # a taxed document keeps the source's own citation, in English when Italian is missing
    taxed = sample_invoice("de").model_copy(update={
        "language": "it", "legal": LegalNotes(citations={"en": "Sold under scheme X."})})
    text = pdf_text(PdfRenderer(RenderOptions(), workers=1).render(taxed))
    assert "Sold under scheme X." in text


def test_export_note(rendered):
    text = pdf_text(rendered["export"])  # billing country CH: German
    assert "Steuerfreie Ausfuhrlieferung" in text
    assert "Schweiz" in text
    assert "Rechnungsbetrag 25,20 €" in text


def test_multi_rate_reference_invoice(rendered):
    text = pdf_text(rendered["reference"])
    assert "INV-2026-000007" in text
    assert "Nettobetrag zu 19 %" in text and "Nettobetrag zu 7 %" in text
    assert "Rechnungsbetrag 47,47 €" in text


def test_delivery_note_when_no_delivery_date():
    doc = sample_export().model_copy(update={"delivery_date": None})
    text = pdf_text(PdfRenderer(RenderOptions(), workers=1).render(doc))
    assert "Liefer-/Leistungsdatum entspricht dem Rechnungsdatum." in text


def test_language_override_and_forced_language():
    doc = sample_invoice("de", "INV-X-1")
    assert "Invoice INV-X-1" in pdf_text(
        PdfRenderer(RenderOptions(language="en"), workers=1).render(doc))
    forced = doc.model_copy(update={"language": "it"})
    assert "Fattura INV-X-1" in pdf_text(
        PdfRenderer(RenderOptions(language="en"), workers=1).render(forced))


def test_unknown_language_is_a_config_error():
    with pytest.raises(ConfigError, match="nl"):
        PdfRenderer(RenderOptions(language="nl"), workers=1).render(sample_invoice("de"))


def test_seller_falls_back_to_company_and_is_required():
    doc = sample_invoice("de").model_copy(update={"seller": None})
    company_seller = SELLER.model_copy(update={"name": "Konfigurierte GmbH"})
    pdf = PdfRenderer(RenderOptions(), Company(seller=company_seller), workers=1).render(doc)
    assert "Konfigurierte GmbH" in pdf_text(pdf)
    with pytest.raises(DocumentValidationError, match="seller"):
        PdfRenderer(RenderOptions(), workers=1).render(doc)


def test_unnumbered_document_and_unreferenced_credit_note_are_refused():
    renderer = PdfRenderer(RenderOptions(), workers=1)
    with pytest.raises(DocumentValidationError, match="number"):
        renderer.render(sample_invoice("de").model_copy(update={"number": None}))
    with pytest.raises(DocumentValidationError, match="original_invoice_number"):
        renderer.render(sample_credit_note("de").model_copy(
            update={"original_invoice_number": None}))
    with pytest.raises(DocumentValidationError, match="kind"):
        renderer.render(sample_invoice("de").model_copy(update={"kind": DocumentKind.ORDER}))


def test_template_override_logo_and_footer(tmp_path: Path):
    (tmp_path / "invoice.css").write_text(
        "@page { size: A4; margin: 20mm; @bottom-left { content: string(f3); } }\n"
        ".document { break-before: page; } .document:first-child { break-before: auto; }\n"
        ".document { string-set: f3 attr(data-f3); }\n"
    )
    logo = tmp_path / "logo.png"
    Image.new("RGB", (80, 40), (18, 52, 86)).save(logo)
    options = RenderOptions(templates=tmp_path, logo=str(logo),
                            footer="Amtsgericht Hamburg HRB 12345 · Geschäftsführerin E. Muster")
    renderer = PdfRenderer(options, workers=1)
    html = renderer.html([sample_invoice("de")])
    assert "margin: 20mm" in html  # the override won; the built-in document.html still used
    assert logo.as_uri() in html
    pdf = renderer.render(sample_invoice("de"))
    assert "Amtsgericht Hamburg HRB 12345" in pdf_text(pdf)
    with pikepdf.open(io.BytesIO(pdf)) as opened:
        assert len(opened.pages[0].images) == 1  # the logo


def test_missing_template_folder_is_a_config_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="templates"):
        PdfRenderer(RenderOptions(templates=tmp_path / "nope"), workers=1).render(
            sample_invoice("de"))


def test_long_invoice_spans_pages_and_batch_neighbours_stay_apart():
    lines = [gross_line(f"Artikel Nummer {i}", "10.00", "0.19", sku=f"A{i}") for i in range(70)]
    base = sample_invoice("de")
    long_doc = build_document(
        lines=lines, **base.model_dump(exclude={"lines", "vat_breakdown", "totals", "number"}),
        number="INV-LONG-1")
    docs = [sample_invoice("de", "INV-A-1"), long_doc, sample_invoice("de", "INV-B-1")]
    first, long_pdf, last = PdfRenderer(RenderOptions(), workers=1).render_many(docs)
    assert page_count(first) == 1 and page_count(last) == 1
    pages = page_count(long_pdf)
    assert pages >= 2
    text = pdf_text(long_pdf)
    assert "Seite 1 von " + str(pages) in text and f"Seite {pages} von {pages}" in text
    assert "Seite" not in pdf_text(first) and "Seite" not in pdf_text(last)
    assert "Artikel Nummer 0" in text and "Artikel Nummer 69" in text
    assert "Rechnungsbetrag 700,00 €" in text
    assert "INV-A-1" not in text and "INV-B-1" not in text


def test_render_many_over_a_process_pool_keeps_order():
    docs = [sample_invoice("de", f"INV-P-{i}") for i in range(6)]
    renderer = PdfRenderer(RenderOptions(), workers=2, batch_size=2, pool_threshold=4)
    pdfs = renderer.render_many(docs)
    assert [f"INV-P-{i}" in pdf_text(p) for i, p in enumerate(pdfs)] == [True] * 6


def test_gross_only_marketplace_rounding_is_printed_as_stated():
    # promotions on a credit note stay negative lines; amounts appear as the document states
    doc = build_document(
        kind=DocumentKind.CREDIT_NOTE, source="amazon", source_key="r1", currency="EUR",
        number="CN-R-1", original_invoice_number="INV-9", original_invoice_date=date(2026, 1, 2),
        issue_date=date(2026, 1, 9), seller=SELLER, buyer=Buyer(name="Max"),
        billing_address=Address(name="Max", lines=("Weg 1",), postal_code="10115",
                                city="Berlin", country="DE"),
        marketplace=Marketplace(id="A1PA6795UKMFR9", country="DE"),
        lines=(
            Line(description="Tasse", net=Decimal("8.40"), vat_rate=Decimal("0.19"),
                 vat=Decimal("1.60"), gross=Decimal("10.00")),
            Line(kind=LineKind.PROMOTION, description="Gutschein", net=Decimal("-0.84"),
                 vat_rate=Decimal("0.19"), vat=Decimal("-0.16"), gross=Decimal("-1.00")),
        ),
    )
    text = pdf_text(PdfRenderer(RenderOptions(), workers=1).render(doc))
    assert "Rechnungskorrektur CN-R-1" in text
    assert "Korrektur zur Rechnung INV-9 vom 02.01.2026" in text
    assert "-0,84 €" in text and "Erstattungsbetrag 9,00 €" in text


def test_names_outside_the_compact_font_fall_back_to_a_system_font():
    doc = sample_invoice("de")
    doc = doc.model_copy(update={
        "buyer": Buyer(name="Γιώργος Παπαδόπουλος"),
        "billing_address": doc.billing_address.model_copy(update={
            "name": "Γιώργος Παπαδόπουλος", "lines": ("ул. Тверская 7",)}),
    })
    text = pdf_text(PdfRenderer(RenderOptions(), workers=1).render(doc))
    assert "Γιώργος Παπαδόπουλος" in text and "ул. Тверская 7" in text


def _boxes(box):
    yield box
    for child in getattr(box, "children", None) or []:
        yield from _boxes(child)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_label_and_value_columns_fit_their_width(lang):
    """Label/value columns are unwrapped text blocks: a too-long label would overprint."""
    from weasyprint import HTML

    renderer = PdfRenderer(RenderOptions(), workers=1)
    html = renderer.html([sample_invoice(lang), sample_credit_note(lang)])
    layout = HTML(string=html).render()
    checked = 0
    for page in layout.pages:
        for box in _boxes(page._page_box):
            element = getattr(box, "element", None)
            classes = (element.get("class") or "").split() if element is not None else []
            if box.element_tag == "div" and {"meta-k", "meta-v", "tk", "tv"} & set(classes) \
                    and type(box).__name__ != "LineBox" and box.children:
                for line in box.children:
                    text = line.children[0]
                    assert text.width <= box.width + 0.5, (classes, text.text)
                    checked += 1
    assert checked > 20


def test_documents_sharing_styles_keep_their_own_footer_and_language():
    """Computed styles are shared across a batch; attr() strings and languages must not be."""
    first = sample_invoice("de", "INV-S-1")
    other_seller = first.seller.model_copy(update={"name": "Zweite Firma AG",
                                                    "tax_number": "99/999/99999"})
    second = sample_invoice("de", "INV-S-2").model_copy(update={"seller": other_seller})
    third = sample_invoice("fr", "INV-S-3")
    pdfs = PdfRenderer(RenderOptions(), workers=1).render_many([first, second, third])
    texts = [pdf_text(p) for p in pdfs]
    assert "Zweite Firma AG" not in texts[0] and "Zweite Firma AG" not in texts[2]
    assert "Zweite Firma AG · " in texts[1] and "99/999/99999" in texts[1]
    assert "99/999/99999" not in texts[0]
    assert "Facture" in texts[2] and "Rechnung" not in texts[2]


def test_lean_user_agent_stylesheet_only_without_footnotes(tmp_path: Path):
    from weasyprint import html as weasy_html

    from syncd.render.pdf import InvoiceHTML, lean_ua_stylesheet, uses_notes

    assert lean_ua_stylesheet() is not None  # WeasyPrint still keeps its UA text there
    plain = InvoiceHTML(string="<p>x</p>", base_url=str(tmp_path) + "/")
    assert weasy_html.UA_STYLESHEET not in plain._ua_stylesheets()
    assert uses_notes("<style>.n { float: footnote }</style>")
    # a template with footnotes gets WeasyPrint's full stylesheet and renders them
    (tmp_path / "invoice.css").write_text(
        ".document { break-before: page; } .document:first-child { break-before: auto; }\n"
        "h1 small { float: footnote; }\n")
    (tmp_path / "document.html").write_text(
        '<section class="document" id="{{ doc.anchor }}"><h1>{{ doc.number }}'
        "<small>Fussnote eins</small></h1></section>")
    pdf = PdfRenderer(RenderOptions(templates=tmp_path), workers=1).render(sample_invoice("de"))
    assert "Fussnote eins" in pdf_text(pdf)



def _lines_of(box) -> list:
    return [b for b in _boxes(box) if type(b).__name__ == "LineBox"]


def test_number_columns_and_totals_line_up_with_their_row():
    """Numbers are zero-height blocks overflowing into their row (cheaper than absolute
    boxes): each must sit on its row's first line, right-aligned to its column's edge, and
    each total's value on its label's line, even when a description wraps."""
    from weasyprint import HTML

    doc = sample_invoice("de")
    long = doc.lines[0].model_copy(update={"description": "Edelstahl-Thermoskanne " * 8})
    doc = doc.model_copy(update={"lines": (long, *doc.lines[1:])})
    layout = HTML(string=PdfRenderer(RenderOptions(), workers=1).html([doc])).render()
    columns: dict[str, set[float]] = {}
    rows = totals = 0
    for box in _boxes(layout.pages[0]._page_box):
        classes = set((box.element.get("class") or "").split()) if box.element is not None \
            else set()
        if "row" in classes and type(box).__name__ == "BlockBox":
            parts = {c: b for b in box.children
                     for c in (b.element.get("class") or "").split()}
            desc = _lines_of(parts["desc"])
            if "Thermoskanne" in str(parts["desc"].element.text):
                assert len(desc) > 2  # the long description wraps
            for name in ("pos", "qty", "price", "rate", "amount"):
                (line,) = _lines_of(parts[name])
                assert line.position_y == desc[0].position_y, name
                text = line.children[0]
                if name != "pos":
                    columns.setdefault(name, set()).add(round(text.position_x + text.width, 3))
            assert box.height >= sum(line.height for line in desc) - 0.01
            rows += 1
        if "tr" in classes and type(box).__name__ == "BlockBox":
            keys, values = (_lines_of(child) for child in box.children)
            assert [k.position_y for k in keys] == [v.position_y for v in values]
            totals += 1
    assert rows == len(doc.lines) + 1 and totals == 3
    # right-aligned: every row's number ends at the same x in its column
    assert all(len(edges) == 1 for edges in columns.values()), columns
