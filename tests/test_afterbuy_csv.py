"""The Afterbuy invoice-list parser: dialects, encodings, mapping, grouping, bad rows."""

from __future__ import annotations

from decimal import Decimal

import pytest

from syncd.connectors import Rejected
from syncd.errors import InputError
from syncd.model import Document, DocumentKind, LineKind
from syncd_afterbuy.amounts import ValueProblem, detect_decimal, parse_money, parse_rate
from syncd_afterbuy.config import AfterbuyConfig, Columns
from syncd_afterbuy.invoices import read_invoice_list
from syncd_afterbuy.sandbox.generator import generate, make_invoices, write_csv

HEADER = ("Rechnungsnummer;Rechnungsdatum;Name;Firma;Land;Artikel;Menge;Netto;MwSt-Satz;MwSt;"
          "Brutto\r\n")


def parse(data: bytes | str, **config):
    raw = data.encode() if isinstance(data, str) else data
    return read_invoice_list(raw, "liste.csv", AfterbuyConfig(**config))


def by_key(items):
    return {i.source_key: i for i in items}


def test_per_item_export_groups_rows_into_invoices_with_a_breakdown_per_rate():
    export = generate(18)
    invoice_list, items = parse(export.data)
    assert invoice_list.file.delimiter == ";" and invoice_list.decimal == ","
    docs = by_key(items)
    assert list(docs) == export.numbers
    for invoice in export.invoices:
        doc = docs[invoice.number]
        assert isinstance(doc, Document), doc
        assert doc.number == invoice.number and doc.source == "afterbuy"
        assert len(doc.lines) == len(invoice.lines)
        assert doc.totals.gross == abs(invoice.gross)
        rates = {line.vat_rate for line in invoice.lines}
        assert {b.rate for b in doc.vat_breakdown} == rates
    multi = [d for d in docs.values() if len(d.vat_breakdown) > 1]
    assert multi, "the generator writes invoices with several rates"
    assert any(line.kind is LineKind.SHIPPING for line in docs["10001"].lines)


def test_per_invoice_export_with_comma_delimiter_and_dot_decimals():
    invoices = make_invoices(12)
    per_item = by_key(parse(write_csv(invoices).data)[1])
    invoice_list, items = parse(write_csv(invoices, delimiter=",", decimal=".",
                                          per_item=False).data)
    assert invoice_list.file.delimiter == "," and invoice_list.decimal == "."
    for key, doc in by_key(items).items():
        assert doc.totals == per_item[key].totals
        assert doc.vat_breakdown == per_item[key].vat_breakdown
        assert len(doc.lines) == len(doc.vat_breakdown)  # one row per invoice and rate


def test_negative_totals_make_a_credit_note_with_positive_amounts():
    export = generate(12)
    docs = by_key(parse(export.data)[1])
    credits = [i for i in export.invoices if i.credit]
    assert credits
    for invoice in credits:
        doc = docs[invoice.number]
        assert doc.kind is DocumentKind.CREDIT_NOTE
        assert doc.totals.gross == -invoice.gross > 0
        assert all(line.gross > 0 for line in doc.lines)


def test_a_credit_note_number_pattern_marks_positive_rows_as_credit_notes():
    text = HEADER + ("G-77;03.11.2026;Jana Müller;;DE;Rücksendung;1;10,00;19;1,90;11,90\r\n"
                     "R-78;03.11.2026;Jana Müller;;DE;Tasse;1;10,00;19;1,90;11,90\r\n")
    docs = by_key(parse(text, credit_note_pattern=r"^G-")[1])
    assert docs["G-77"].kind is DocumentKind.CREDIT_NOTE
    assert docs["G-77"].totals.gross == Decimal("11.90")
    assert docs["R-78"].kind is DocumentKind.INVOICE


@pytest.mark.parametrize(("row", "column", "needle"), [
    ("10002;03.11.2026;A;;DE;Tasse;1;zehn;19;1,90;11,90", "Netto", "'zehn'"),
    ("10002;31.02.2026;A;;DE;Tasse;1;10,00;19;1,90;11,90", "Rechnungsdatum", "not a date"),
    ("10002;03.11.2026;A;;DE;Tasse;1;10,00;19;1,90;11,91", "Brutto", "not the gross 11.91"),
    ("10002;03.11.2026;A;;DE;Tasse;1;10,00;19;0,70;10,70", "MwSt", "is not 19 %"),
    ("10002;03.11.2026;A;;Atlantis;Tasse;1;10,00;19;1,90;11,90", "Land", "not a country"),
])
def test_each_bad_row_is_rejected_with_file_line_and_column_and_the_rest_flows(row, column,
                                                                                needle):
    text = (HEADER + "10001;03.11.2026;A;;DE;Tasse;1;10,00;19;1,90;11,90\r\n" + row + "\r\n"
            + "10003;03.11.2026;B;;DE;Tasse;2;20,00;19;3,80;23,80\r\n")
    items = by_key(parse(text)[1])
    assert isinstance(items["10001"], Document) and isinstance(items["10003"], Document)
    rejected = items["10002"]
    assert isinstance(rejected, Rejected)
    assert rejected.error.startswith(f"liste.csv:3: column {column!r}:"), rejected.error
    assert needle in rejected.error
    assert rejected.raw["problems"][0]["line"] == 3


@pytest.mark.parametrize(("second", "column"), [
    ("10001;04.11.2026;Jana;;DE;Teller;1;10,00;19;1,90;11,90", "Rechnungsdatum"),
    ("10001;03.11.2026;Jörg;;DE;Teller;1;10,00;19;1,90;11,90", "Name"),
])
def test_two_rows_of_one_invoice_that_disagree_reject_the_invoice(second, column):
    text = HEADER + "10001;03.11.2026;Jana;;DE;Tasse;1;10,00;19;1,90;11,90\r\n" + second
    (rejected,) = parse(text)[1]
    assert isinstance(rejected, Rejected) and rejected.source_key == "10001"
    assert f"liste.csv:3: column {column!r}:" in rejected.error
    assert "line 2" in rejected.error


def test_a_bad_invoice_value_from_a_later_row_names_that_row():
    """The first row leaves the date empty; the second row's bad date is on line 3."""
    text = (HEADER + "10001;;Jana;;DE;Tasse;1;10,00;19;1,90;11,90\r\n"
            "10001;31.02.2026;Jana;;DE;Teller;1;10,00;19;1,90;11,90\r\n")
    (rejected,) = parse(text)[1]
    assert rejected.error.startswith("liste.csv:3: column 'Rechnungsdatum': '31.02.2026'")
    assert rejected.raw["problems"][0]["line"] == 3


def test_rows_that_write_the_same_date_or_country_differently_agree():
    paid = HEADER.replace("Brutto", "Brutto;Bezahlt am")
    text = (paid + "10001;03.11.2026;Jana;;DE;Tasse;1;10,00;19;1,90;11,90;\r\n"
            "10001;3.11.2026;Jana;;Deutschland;Teller;1;10,00;19;1,90;11,90;05.11.2026\r\n"
            "10002;03.11.2026;Jana;;DE;Tasse;1;10,00;19;1,90;11,90;05.11.2026\r\n"
            "10002;03.11.2026;Jana;;DE;Teller;1;10,00;19;1,90;11,90;06.11.2026\r\n")
    items = by_key(parse(text)[1])
    doc = items["10001"]
    assert isinstance(doc, Document), doc
    assert doc.issue_date.isoformat() == "2026-11-03" and doc.billing_address.country == "DE"
    assert doc.extra["afterbuy:paid_date"] == "2026-11-05"  # from the item row that has it
    assert items["10002"].error == ("liste.csv:5: column 'Bezahlt am': '06.11.2026' disagrees "
                                    "with '05.11.2026' on line 4 of invoice 10002")


def test_a_row_with_more_fields_than_the_header_is_rejected_as_shifted():
    text = (HEADER + "10001;03.11.2026;Weiß; Partner;;DE;Tasse;1;10,00;19;1,90;11,90\r\n"
            "10002;03.11.2026;Jana;;DE;Tasse;1;10,00;19;1,90;11,90;;\r\n")  # empty extras: fine
    items = by_key(parse(text)[1])
    assert isinstance(items["10002"], Document)
    error = items["10001"].error
    assert error.startswith("liste.csv:2: column 'Brutto': the line has 12 fields, the header "
                            "11: a field holding ';' without quotes?"), error


def test_item_rows_may_leave_the_invoice_fields_empty():
    text = (HEADER + "10001;03.11.2026;Jana;ACME;AT;Tasse;1;10,00;19;1,90;11,90\r\n"
            "10001;;;;;Teller;1;5,00;7;0,35;5,35\r\n")
    (doc,) = parse(text)[1]
    assert doc.buyer.name == "Jana" and doc.billing_address.country == "AT"
    assert len(doc.lines) == 2 and len(doc.vat_breakdown) == 2


def test_an_unknown_currency_names_its_column():
    text = ("Rechnungsnummer;Rechnungsdatum;Brutto;MwSt-Satz;Währung\r\n"
            "1;03.11.2026;11,90;19;Taler\r\n2;03.11.2026;11,90;19;€\r\n")
    items = by_key(parse(text)[1])
    assert items["1"].error == "liste.csv:2: column 'Währung': 'Taler' is not a currency code " \
        "such as EUR"
    assert items["2"].currency == "EUR"


def test_line_numbers_count_quoted_line_breaks_and_the_delimiter_inside_quotes():
    text = (HEADER + '10001;03.11.2026;"Weiß; Partner";;DE;"Set\r\n(2 Stück)";1;10,00;19;1,90;'
            '11,90\r\n10002;03.11.2026;B;;DE;Tasse;1;kaputt;19;1,90;11,90\r\n')
    items = by_key(parse(text)[1])
    assert items["10001"].buyer.name == "Weiß; Partner"
    assert items["10001"].lines[0].description == "Set\r\n(2 Stück)"
    assert items["10002"].error.startswith("liste.csv:4: column 'Netto'")


def test_utf8_bom_and_windows_line_ends():
    export = generate(6, bom=True, line_end="\r\n")
    invoice_list, items = parse(export.data)
    assert invoice_list.file.encoding == "utf-8" and invoice_list.file.encoding_note is None
    assert invoice_list.file.headers[0] == "Rechnungsnummer"
    assert all(isinstance(i, Document) for i in items)


def test_a_file_that_is_really_cp1252_is_detected_and_named():
    export = generate(10, encoding="cp1252")
    with pytest.raises(UnicodeDecodeError):
        export.data.decode("utf-8")
    invoice_list, items = parse(export.data)
    note = invoice_list.file.encoding_note
    assert invoice_list.file.encoding == "cp1252"
    assert note and "liste.csv is not UTF-8" in note and "cp1252" in note
    docs = by_key(items)
    assert all(isinstance(d, Document) for d in docs.values())
    names = {d.buyer.name for d in docs.values()} | {d.buyer.company for d in docs.values()}
    assert {"Jana Müller", "Schäfer & Söhne GmbH"} & names
    assert all(d.extra["afterbuy:encoding"] == "cp1252" for d in docs.values())


def test_a_file_mixing_utf8_and_cp1252_lines_reads_each_line_in_its_encoding():
    utf8 = (HEADER + "10001;03.11.2026;Jana Müller;;DE;Tasse;1;10,00;19;1,90;11,90\r\n").encode()
    cp1252 = "10002;03.11.2026;Jörg Weiß;;DE;Tasse;1;10,00;19;1,90;11,90\r\n".encode("cp1252")
    invoice_list, items = parse(utf8 + cp1252)
    assert [d.buyer.name for d in items] == ["Jana Müller", "Jörg Weiß"]
    assert invoice_list.file.encoding == "utf-8+cp1252"
    assert invoice_list.file.encoding_note.startswith(
        "liste.csv mixes encodings: line(s) 3 are not UTF-8 and were read as cp1252")
    assert items[1].extra["afterbuy:encoding"] == "utf-8+cp1252"


def test_utf16_is_read_and_named_and_binary_files_are_refused():
    export = generate(3)
    invoice_list, items = parse(export.data.decode().encode("utf-16"))
    assert invoice_list.file.encoding == "utf-16" and "UTF-16" in invoice_list.file.encoding_note
    assert len(items) == 3
    with pytest.raises(InputError, match=r"liste\.csv: not a text file"):
        parse(b"%PDF-1.4\x00\x00binary")


def test_a_renamed_column_mapping_and_header_matching_ignore_case_and_spacing():
    columns = Columns(invoice_number="Beleg-Nr.", gross="Gesamt brutto")
    export = write_csv(make_invoices(5), columns=columns)
    text = export.data.decode().replace("Beleg-Nr.", " beleg nr ", 1)
    with pytest.raises(InputError, match="Rechnungsnummer"):
        parse(text)
    items = parse(text, columns=columns.model_dump())[1]
    assert [i.number for i in items] == export.numbers


def test_a_missing_required_column_is_one_error_listing_found_and_expected():
    text = "Rechnungsnummer;Datum;Brutto;MwSt-Satz\r\n1;03.11.2026;11,90;19\r\n"
    with pytest.raises(InputError) as info:
        parse(text)
    message = str(info.value)
    assert message.startswith("liste.csv: missing column(s) 'Rechnungsdatum' (invoice_date)")
    assert "Columns found: 'Rechnungsnummer', 'Datum', 'Brutto', 'MwSt-Satz'" in message
    assert "invoice_date='Rechnungsdatum'" in message


def test_unknown_columns_are_ignored_and_optional_ones_may_be_absent():
    text = ("Plattform;Rechnungsnummer;Rechnungsdatum;Brutto;MwSt-Satz;Notiz\r\n"
            "eBay;5;03.11.2026;119,00 €;19 %;egal\r\n")
    (doc,) = parse(text)[1]
    assert doc.totals.net == Decimal("100.00") and doc.totals.vat == Decimal("19.00")
    assert doc.billing_address.country == "DE" and doc.currency == "EUR"


def test_a_document_names_its_file_lines_and_pdf():
    text = (HEADER + "7;03.11.2026;A;;Deutschland;Tasse;1;10,00;19;1,90;11,90\r\n"
            "7;03.11.2026;A;;Deutschland;Teller;1;5,00;7;0,35;5,35\r\n")
    (doc,) = read_invoice_list(text.encode(), "liste.csv", AfterbuyConfig(
        pdf_url="https://x.example/pdf?nr={invoice_number}"), origin="liste.csv (inbox 3)")[1]
    assert doc.extra["afterbuy:file"] == "liste.csv (inbox 3)"
    assert doc.extra["afterbuy:line"] == "2,3"
    assert doc.billing_address.country == "DE"
    (pdf,) = doc.attachments
    assert pdf.url == "https://x.example/pdf?nr=7" and pdf.filename == "7.pdf"


def test_rows_without_an_invoice_number_are_rejected_by_line():
    text = HEADER + ";03.11.2026;A;;DE;Tasse;1;10,00;19;1,90;11,90\r\n"
    (rejected,) = parse(text)[1]
    assert rejected.source_key == "liste.csv:line-2"
    assert rejected.error == "liste.csv:2: column 'Rechnungsnummer': empty invoice number"


@pytest.mark.parametrize(("text", "decimal", "value"), [
    ("1.234,56 €", ",", "1234.56"), ("-12,50", ",", "-12.50"), ("12,50-", ",", "-12.50"),
    ("EUR 1234.5", ".", "1234.50"), ("1,234.56", ".", "1234.56"), ("1.234", ",", "1234.00"),
])
def test_amounts_in_german_or_dot_notation(text, decimal, value):
    assert parse_money(text, decimal) == Decimal(value)


@pytest.mark.parametrize("text", ["12,3,4", "1.23,45", "abc", "", "1,234"])
def test_unreadable_amounts_say_so(text):
    with pytest.raises(ValueProblem):
        parse_money(text, ",")


def test_decimal_detection_and_rates():
    assert detect_decimal(["1.234,56", "12,00"]) == ","
    assert detect_decimal(["1,234.56", "12.00", "3"]) == "."
    assert parse_rate("19", ",") == Decimal("0.19") == parse_rate("0,19", ",")
    assert parse_rate("7 %", ",") == Decimal("0.07")
    assert parse_rate("0", ",") == 0
