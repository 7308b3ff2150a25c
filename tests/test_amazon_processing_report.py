"""The UPLOAD_VAT_INVOICE processing report: windows-1252 text with an error table."""

from __future__ import annotations

from syncd_amazon.processing_report import ReportError, decode, parse, render


def test_round_trip_in_windows_1252():
    data = render(1, [ReportError("79513", "Error", "Rechnungsnummer fehlt – bitte prüfen")],
                  shipping_id="S1")
    assert "prüfen".encode("cp1252") in data
    report = parse(decode(data))
    assert report.processed == 1 and report.successful == 0
    assert not report.accepted
    assert report.summary() == "79513: Rechnungsnummer fehlt – bitte prüfen"


def test_warnings_alone_do_not_reject_and_columns_are_read_by_name():
    text = ("Feed Processing Summary:\n\tNumber of records processed\t\t1\n"
            "\tNumber of records successful\t\t1\n\n"
            "error-message\terror-type\terror-code\toriginal-record-number\n"
            "Bitte Adresse prüfen\tWarning\t90001\t1\n")
    report = parse(text)
    assert report.accepted
    assert report.errors[0].code == "90001" and report.errors[0].message.endswith("prüfen")


def test_declared_charset_wins_over_the_fallback():
    assert decode("Größe".encode(), "utf-8") == "Größe"
    assert decode("Größe".encode("cp1252")) == "Größe"
