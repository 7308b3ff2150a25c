"""VIDR parsing, grouping and document building (SYNTHETIC fixtures only)."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest

from syncd.connectors import Rejected, Skipped, Verdict
from syncd.errors import InputError
from syncd.model import Document, DocumentKind, LineKind
from syncd_amazon.documents import items_of, orphan_item
from syncd_amazon.fixtures import DE, DEMO_VIDR, FR, IT, component, row, to_tsv
from syncd_amazon.grouping import Group, group_rows
from syncd_amazon.vidr import COLUMNS, BadLine, VidrReader, charset_of

HERE = Path(__file__).resolve().parent / "amazon_fixtures"


def c(prefix: str, incl: str, rate: str) -> dict[str, str]:
    return {k.replace("-", "_"): v for k, v in component(prefix, incl, rate).items()}


def read_items(data: bytes, *, charset: str | None = None, chunk_rows: int = 50_000) -> list:
    reader = VidrReader(io.BytesIO(data), name="test.tsv", charset=charset)
    out: list = []
    for entry in group_rows(reader, reader.header, chunk_rows=chunk_rows):
        if isinstance(entry, Group):
            out.extend(items_of(entry, "test.tsv"))
        else:
            out.append(orphan_item(entry))
    return out


def docs(items: list) -> dict[str, Document]:
    return {i.source_key: i for i in items if isinstance(i, Document)}


def tsv(*rows: dict[str, str]) -> bytes:
    return to_tsv(rows).encode()


# -- reader ----------------------------------------------------------------------------------

def test_charset_comes_from_content_type():
    assert charset_of("text/tab-separated-values; charset=windows-1252") == "windows-1252"
    assert charset_of("text/plain") is None
    assert charset_of(None) is None


def test_bom_and_cp1252_are_read():
    text = to_tsv([row(product_name="Kaffeemühle für Büro")])
    data = "\ufeff".encode() + text.encode("cp1252")
    reader = VidrReader(io.BytesIO(data), name="x")
    (item,) = list(reader)
    assert reader.header[0] == "marketplace-id"
    assert item.get("product-name") == "Kaffeemühle für Büro"
    assert reader.fallback_lines == 1


def test_declared_charset_is_used():
    data = to_tsv([row(product_name="Éclair")]).encode("latin-1")
    (item,) = list(VidrReader(io.BytesIO(data), name="x", charset="latin-1"))
    assert item.get("product-name") == "Éclair"


def test_missing_required_columns_are_listed():
    columns = [c for c in COLUMNS if c not in ("currency", "item-vat-amount")]
    data = to_tsv([row()], columns).encode()
    with pytest.raises(InputError) as err:
        VidrReader(io.BytesIO(data), name="bad.tsv")
    assert "bad.tsv: line 1 (header)" in str(err.value)
    assert "currency" in str(err.value) and "item-vat-amount" in str(err.value)


def test_header_names_are_case_insensitive_and_unknown_columns_kept():
    values = row(citation_de="Steuerfrei", x_new_column="kept")
    data = to_tsv([values], [*COLUMNS, "x-new-column"]).encode()
    data = data.replace(b"\tcitation-de\t", b"\tCitation-De\t", 1)
    assert b"Citation-De" in data
    reader = VidrReader(io.BytesIO(data), name="x")
    assert reader.unknown_columns == ["x-new-column"]
    (doc,) = docs(read_items(data)).values()
    assert doc.extra["x-new-column"] == "kept"
    assert doc.legal.citations["de"] == "Steuerfrei"


def test_quoted_values_and_unsorted_rows_from_fixture_file():
    items = read_items((HERE / "unsorted_quoted.tsv").read_bytes())
    by_key = docs(items)
    a = by_key[f"{DE}/CASE-A/SHIPMENT/TA"]
    b = by_key[f"{DE}/CASE-B/SHIPMENT/TB"]
    assert a.lines[0].description == '"Quoted, widget"'.strip('"')
    assert [line.kind for line in a.lines] == [LineKind.ITEM, LineKind.SHIPPING, LineKind.ITEM,
                                              LineKind.PROMOTION]
    assert a.totals.gross == Decimal("23.80") + Decimal("4.99") + Decimal("47.60") - \
        Decimal("4.76")
    assert b.references.order_id is None  # two orders in one shipment
    assert {line.order_id for line in b.lines} == {"302-0000002-0000001", "302-0000002-0000002"}


def test_garbage_line_rejects_only_its_shipment():
    good = to_tsv([row(shipping_id="OK-1"), row(shipping_id="HIT-1", transaction_id="T9")])
    garbage = "\t".join([DE, "302-1", "1", "HIT-1", "broken"]) + "\n"
    nonsense = "this line is garbage\n"
    items = read_items((good + garbage + nonsense).encode())
    assert f"{DE}/OK-1/SHIPMENT/TX0001" in docs(items)
    rejected = {i.source_key: i for i in items if isinstance(i, Rejected)}
    assert rejected[f"{DE}/HIT-1/SHIPMENT/T9"].error.startswith(
        "test.tsv: line 4, shipment HIT-1: expected")
    orphan = [r for k, r in rejected.items() if k.startswith("unreadable-line/")]
    assert len(orphan) == 1 and "line 5" in orphan[0].error
    assert orphan[0].raw["line"] == "this line is garbage"


def test_bad_value_names_line_and_column():
    data = tsv(row(shipping_id="S1"), row(shipping_id="S2", item_vat_amount="3,80"))
    items = read_items(data)
    (bad,) = [i for i in items if isinstance(i, Rejected)]
    assert bad.source_key == f"{DE}/S2/SHIPMENT/TX0001"
    assert "line 3, column item-vat-amount" in bad.error
    assert f"{DE}/S1/SHIPMENT/TX0001" in docs(items)


def test_grouping_spills_to_disk_and_keeps_groups_whole():
    rows = [row(shipping_id=f"S{i % 7}", transaction_id=f"T{i % 7}", order_item_id=str(i))
            for i in range(40)]
    items = read_items(tsv(*rows), chunk_rows=3)
    got = docs(items)
    assert len(got) == 7
    assert sum(len(d.lines) for d in got.values()) == 40


# -- documents -------------------------------------------------------------------------------

def test_promotions_on_item_shipping_and_gift_wrap():
    data = tsv(row(**c("item", "59.50", "0.19"), **c("item-promo", "-5.95", "0.19"),
                   item_promotion_id="P-ITEM", **c("shipping", "3.99", "0.19"),
                   **c("shipping-promo", "-3.99", "0.19"), ship_promotion_id="P-SHIP",
                   **c("gift-wrap", "2.38", "0.19"), **c("gift-promo", "-1.19", "0.19"),
                   gift_promotion_id="P-GIFT"))
    (doc,) = docs(read_items(data)).values()
    promos = {line.promotion_for: line for line in doc.lines if line.kind is LineKind.PROMOTION}
    assert promos[LineKind.ITEM].promotion_id == "P-ITEM"
    assert promos[LineKind.SHIPPING].gross == Decimal("-3.99")
    assert promos[LineKind.GIFT_WRAP].promotion_id == "P-GIFT"
    assert doc.totals.gross == Decimal("54.74")
    assert doc.extra["amazon:total-amount"] == "54.74"


def test_return_and_refund_become_positive_credit_notes():
    neg = {k: f"-{v}" if not k.endswith("rate") else v
           for k, v in c("item", "23.80", "0.19").items()}
    data = tsv(row(transaction_type="RETURN", transaction_id="R1",
                   invoice_status="CreditNotePending", **neg),
               row(transaction_type="REFUND", transaction_id="F1",
                   invoice_status="CreditNotePending", **neg, **c("item-promo", "2.38", "0.19")))
    got = docs(read_items(data))
    ret = got[f"{DE}/SHIP0001/RETURN/R1"]
    ref = got[f"{DE}/SHIP0001/REFUND/F1"]
    assert ret.kind is DocumentKind.CREDIT_NOTE and ret.totals.gross == Decimal("23.80")
    assert ret.extra["amazon:total-amount"] == "-23.80"
    assert ret.references.transaction_id == "R1"
    assert ref.totals.gross == Decimal("21.42")
    assert [line.gross for line in ref.lines] == [Decimal("23.80"), Decimal("-2.38")]


def test_corrections_yield_credit_note_and_new_invoice():
    items = read_items(DEMO_VIDR.read_bytes())
    got = docs(items)
    rev = got[f"{DE}/DEMO-S12/REFUND/CorrectionReversal:DEMO-S12"]
    new = got[f"{DE}/DEMO-S12/SHIPMENT/Correction:DEMO-S12"]
    assert rev.kind is DocumentKind.CREDIT_NOTE
    assert rev.original_invoice_number == "INV-2025-000917"
    assert new.kind is DocumentKind.INVOICE
    assert new.billing_address is not None and new.billing_address.name == "Erika Musterfrau-Neu"
    assert new.extra["is-invoice-corrected"] == "true"


def test_export_and_reverse_charge_and_currencies():
    got = docs(read_items(DEMO_VIDR.read_bytes()))
    export = got[f"{DE}/DEMO-S07/SHIPMENT/T-S07"]
    assert export.legal.export and not export.legal.reverse_charge
    assert export.totals.vat == 0
    b2b = got[f"{FR}/DEMO-S06/SHIPMENT/T-S06"]
    assert b2b.legal.reverse_charge and b2b.legal.intra_eu
    assert b2b.buyer.vat_id == "FR12345678901"
    assert b2b.references.purchase_order_number == "PO-SYN-42"
    assert got[f"{IT}/DEMO-S10/SHIPMENT/T-S10"].vat_breakdown[0].rate == Decimal("0.22")
    assert {d.currency for d in got.values()} == {"EUR", "PLN"}
    assert {d.marketplace.country for d in got.values() if d.marketplace} >= {"DE", "FR", "IT",
                                                                              "PL"}


def test_amazon_invoiced_rows_are_skipped_with_reason():
    items = read_items(tsv(row(is_amazon_invoiced="TRUE")))
    (skipped,) = items
    assert isinstance(skipped, Skipped) and "is-amazon-invoiced" in skipped.reason


def test_totals_that_disagree_become_error_documents():
    bad = row(item_vat_amount="3.81")  # 23.80 - 20.00 != 3.81
    (item,) = read_items(tsv(bad))
    assert isinstance(item, Rejected)
    assert "line 2, column item-vat-amount" in item.error


def test_inconsistent_group_is_rejected():
    (item,) = read_items(tsv(row(), row(currency="GBP")))
    assert isinstance(item, Rejected) and "column currency" in item.error


def test_statuses_become_verdicts_and_never_change_the_document():
    pending = read_items(tsv(row()))
    rejected = read_items(tsv(row(invoice_status_description="79513 missing metadata")))
    uploaded = read_items(tsv(row(invoice_status="InvoiceUploaded")))
    assert pending[0].content_hash == rejected[0].content_hash == uploaded[0].content_hash
    (verdict,) = [i for i in rejected if isinstance(i, Verdict)]
    assert not verdict.accepted and verdict.code == "79513" and verdict.target == "amazon"
    (ok,) = [i for i in uploaded if isinstance(i, Verdict)]
    assert ok.accepted
    assert not [i for i in pending if isinstance(i, Verdict)]
    processing = read_items(tsv(row(invoice_status="InvoiceRejected",
                                    invoice_status_description="bad totals")))
    assert [i.message for i in processing if isinstance(i, Verdict)] == ["bad totals"]


def test_bad_lines_keep_their_text():
    reader = VidrReader(io.BytesIO(tsv(row()) + b"a\tb\n"), name="x")
    bad = [i for i in reader if isinstance(i, BadLine)]
    assert bad[0].raw == "a\tb" and bad[0].line == 3


def test_the_same_group_in_another_report_is_the_same_document():
    first = row(shipping_id="S", order_item_id="1", sku="A", x_note="a")
    second = row(shipping_id="S", order_item_id="2", sku="B", x_note="b",
                 **c("item", "11.90", "0.19"))
    other = row(shipping_id="O")
    columns = [*COLUMNS, "x-note"]
    one = docs(read_items(to_tsv([first, second], columns).encode()))
    two = docs(read_items(to_tsv([other, second, other, first], columns).encode()))
    key = f"{DE}/S/SHIPMENT/TX0001"
    assert one[key].content_hash == two[key].content_hash
    assert one[key].extra["x-note[1]"] == "a" and one[key].extra["x-note[2]"] == "b"
