"""Rows of one (day, type) into documents: grouping, lines, amounts, addresses, links, rejects."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from syncd.connectors import Rejected
from syncd.model import AttachmentRole, Document, DocumentKind, Fulfilment, LineKind, LinkKind
from syncd_amainvoice.documents import build
from syncd_amainvoice.rows import street_lines

DAY = date(2026, 11, 3)


def inv(number="R1", order="302-1111111-0000001", **fields) -> dict[str, str]:
    row = {"inv_rech_nr": number, "inv_date": "2026-11-03", "amazonorderid": order,
           "buyername": "Anna Schmidt", "buyeremail": "a@example.com", "sku": "SKU-1",
           "asin": "B0SYN00001", "productname": "Trinkflasche", "quantitypurchased": "2",
           "currency": "EUR", "mwst": "1", "taxrate": "19", "itemprice": "23.80",
           "itemprice_netto": "20.00", "itemprice_tax": "3.80", "brutto_total": "23.80",
           "netto_total": "20.00", "tax_total": "3.80", "billaddress1": "Hauptstraße",
           "billaddress2": "12", "billcity": "Berlin", "billpostalcode": "10115",
           "billcountry": "DE", "recipientname": "Anna Schmidt", "shipaddress1": "Hauptstraße",
           "shipaddress2": "12", "shipcity": "Berlin", "shippostalcode": "10115",
           "shipcountry": "DE", "fulfillmentchannel": "AFN", "saleschannel": "Amazon.de",
           "documentlink": "https://amainvoice.example/doc/R1.pdf"}
    row.update(fields)
    return row


def docs(items) -> dict[str, Document]:
    return {i.source_key: i for i in items if isinstance(i, Document)}


def test_an_invoice_keeps_amainvoices_number_and_its_fields():
    [doc] = build([inv()], DAY, "inv").items
    assert isinstance(doc, Document)
    assert doc.kind is DocumentKind.INVOICE and doc.number == "R1"
    assert doc.source == "amainvoice" and doc.source_key == "invoice:R1"
    assert doc.issue_date == DAY and doc.currency == "EUR"
    assert doc.fulfilment is Fulfilment.FBA
    assert doc.references.order_id == "302-1111111-0000001"
    assert doc.marketplace.id == "Amazon.de" and doc.marketplace.country == "DE"
    assert doc.billing_address.lines == ("Hauptstraße 12",)
    assert doc.totals.gross == Decimal("23.80") and doc.totals.vat == Decimal("3.80")
    [line] = doc.lines
    assert (line.kind, line.quantity, line.sku, line.vat_rate) == (
        LineKind.ITEM, Decimal(2), "SKU-1", Decimal("0.19"))
    [pdf] = doc.attachments
    assert pdf.role is AttachmentRole.PDF and pdf.url.endswith("R1.pdf") and pdf.data is None


def test_lines_for_item_shipping_gift_wrap_and_each_promotion():
    row = inv(shippingprice="4.99", shippingprice_netto="4.19", shippingprice_tax="0.80",
              giftwrapprice="2.99", giftwrapprice_netto="2.51", giftwrapprice_tax="0.48",
              itempromotiondiscount="-2.38", itempromotiondiscount_netto="-2.00",
              itempromotiondiscount_tax="-0.38", itempromotionid="PROMO-10",
              shippromotiondiscount="-4.99", brutto_total="24.41", netto_total="", tax_total="")
    [doc] = build([row], DAY, "inv").items
    kinds = [(ln.kind, ln.promotion_for, ln.gross) for ln in doc.lines]
    assert kinds == [(LineKind.ITEM, None, Decimal("23.80")),
                     (LineKind.SHIPPING, None, Decimal("4.99")),
                     (LineKind.GIFT_WRAP, None, Decimal("2.99")),
                     (LineKind.PROMOTION, LineKind.ITEM, Decimal("-2.38")),
                     (LineKind.PROMOTION, LineKind.SHIPPING, Decimal("-4.99"))]
    promo = doc.lines[3]
    assert promo.promotion_id == "PROMO-10" and promo.net == Decimal("-2.00")
    shipping_promo = doc.lines[4]  # no _netto/_tax given: split from the gross at 19 %
    assert shipping_promo.net == Decimal("-4.19") and shipping_promo.vat == Decimal("-0.80")
    assert doc.totals.gross == Decimal("24.41")


def test_without_the_mwst_flag_the_net_fields_are_the_price_and_vat_is_zero():
    row = inv(mwst="", uid="FR12345678901", isbusinessorder="1", buyercompanyname="ACME SARL",
              billcountry="FR", itemprice="20.00", itemprice_netto="20.00", itemprice_tax="",
              brutto_total="20.00", netto_total="20.00", tax_total="0.00")
    [doc] = build([row], DAY, "inv").items
    assert doc.lines[0].vat_rate == 0 and doc.lines[0].vat == 0
    assert doc.totals.gross == doc.totals.net == Decimal("20.00")
    assert doc.buyer.vat_id == "FR12345678901" and doc.buyer.company == "ACME SARL"
    assert doc.extra["business"] == "true" and doc.legal.reverse_charge


def test_several_rates_give_a_breakdown_per_rate():
    rows = [inv(), inv(sku="BOOK", taxrate="7", itemprice="10.70", itemprice_netto="10.00",
                       itemprice_tax="0.70", brutto_total="10.70", netto_total="10.00",
                       tax_total="0.70")]
    [doc] = build(rows, DAY, "inv").items
    assert [(b.rate, b.gross) for b in doc.vat_breakdown] == [
        (Decimal("0.19"), Decimal("23.80")), (Decimal("0.07"), Decimal("10.70"))]


def test_a_split_shipment_is_two_invoices_of_one_order():
    rows = [inv("R1"), inv("R2", sku="SKU-2")]
    items = build(rows, DAY, "inv").items
    assert sorted(docs(items)) == ["invoice:R1", "invoice:R2"]
    assert {d.references.order_id for d in docs(items).values()} == {"302-1111111-0000001"}
    built = build(rows, DAY, "inv", orders=True)
    order = docs(built.items)["order:302-1111111-0000001"]
    assert order.kind is DocumentKind.ORDER and len(order.lines) == 2
    assert order.extra["invoices"] == "R1,R2" and order.attachments == ()
    for key in ("invoice:R1", "invoice:R2"):
        link = docs(built.items)[key].link(LinkKind.ORDER)
        assert link.source_key == "order:302-1111111-0000001" and link.required
    assert built.invoices_by_order == {"302-1111111-0000001": ["R1", "R2"]}


def test_a_credit_note_keeps_its_number_and_links_to_its_invoice():
    row = inv("R1", rem_gs_nr="GS7", rem_date="2026-11-05", amazonorderid="",
              orderid="302-1111111-0000001", quantity="1", quantitypurchased="",
              itemprice="-11.90", itemprice_netto="-10.00", itemprice_tax="-1.90",
              brutto_total="-11.90", netto_total="-10.00", tax_total="-1.90")
    [doc] = build([row], date(2026, 11, 5), "rem").items
    assert doc.kind is DocumentKind.CREDIT_NOTE and doc.number == "GS7"
    assert doc.source_key == "credit_note:GS7" and doc.issue_date == date(2026, 11, 5)
    assert doc.totals.gross == Decimal("11.90")  # positive: what is credited
    assert doc.lines[0].quantity == 1
    link = doc.link(LinkKind.INVOICE)
    assert link.source_key == "invoice:R1" and link.required
    assert doc.original_invoice_number == "R1" and doc.original_invoice_date == DAY
    assert doc.references.order_id == "302-1111111-0000001"


def test_a_credit_note_that_names_no_invoice_links_to_the_invoice_of_its_order():
    row = inv("", rem_gs_nr="GS8", rem_date="2026-11-05", inv_date="", amazonorderid="",
              orderid="302-1111111-0000001")
    [doc] = build([row], date(2026, 11, 5), "rem").items
    link = doc.link(LinkKind.INVOICE)
    assert (link.match.order_id, link.match.shipping_id, link.source_key, link.required) == (
        "302-1111111-0000001", None, None, True)
    assert doc.original_invoice_number is None  # the target learns it from the link
    [orphan] = build([{**row, "orderid": ""}], date(2026, 11, 5), "rem").items
    assert orphan.links == ()  # neither invoice nor order named: nothing to link


def test_a_row_without_a_number_is_rejected_with_its_place_and_the_rest_flows():
    items = build([inv("R1"), inv(""), inv("R3")], DAY, "inv").items
    rejected = [i for i in items if isinstance(i, Rejected)]
    assert sorted(docs(items)) == ["invoice:R1", "invoice:R3"]
    [bad] = rejected
    assert bad.source_key == "row:2026-11-03.inv:1"
    assert bad.error == "2026-11-03.inv row 1: field inv_rech_nr: missing"


def test_unparseable_amounts_and_dates_reject_the_document_naming_row_and_field():
    items = build([inv("R1"), inv("R1", itemprice="zwölf"), inv("R2", inv_date="gestern")],
                  DAY, "inv").items
    errors = {i.source_key: i.error for i in items if isinstance(i, Rejected)}
    assert errors == {
        "invoice:R1": "2026-11-03.inv row 1: field itemprice: 'zwölf' is not a number",
        "invoice:R2": "2026-11-03.inv row 2: field inv_date: 'gestern' is not a date"}


def test_totals_that_disagree_are_rejected_with_field_and_amounts():
    items = build([inv(brutto_total="23.81")], DAY, "inv").items
    [bad] = items
    assert isinstance(bad, Rejected)
    assert bad.error == ("2026-11-03.inv row 0: field brutto_total: 23.81 differs from the "
                         "sum of the row's amounts 23.80")
    [bad] = build([inv(itemprice_tax="3.81", brutto_total="")], DAY, "inv").items
    assert "itemprice_netto 20.00 + itemprice_tax 3.81 = 23.81 differs from itemprice 23.80" \
        in bad.error


def test_mixed_currencies_and_missing_rates_are_rejected():
    [bad] = build([inv(), inv(currency="GBP")], DAY, "inv").items
    assert "row 1: field currency" in bad.error
    [bad] = build([inv(taxrate="")], DAY, "inv").items
    assert "field taxrate: missing although mwst is set" in bad.error


def test_fbm_uk_and_a_separate_shipping_address():
    row = inv(fulfillmentchannel="MFN", currency="GBP", billcountry="UK", shipcountry="UK",
              recipientname="Oliver Smith", shipaddress1="", shipaddress2="High Street",
              shipaddress3="5", shippostalcode="LS1 4AP", shipcity="Leeds", taxrate="20",
              itemprice="24.00", itemprice_netto="20.00", itemprice_tax="4.00",
              brutto_total="24.00", netto_total="20.00", tax_total="4.00")
    [doc] = build([row], DAY, "inv").items
    assert doc.fulfilment is Fulfilment.FBM and doc.currency == "GBP"
    assert doc.billing_address.country == "GB"
    assert doc.shipping_address.name == "Oliver Smith"
    assert doc.shipping_address.lines == ("High Street 5",)


def test_street_rules_of_notes_2_6():
    assert street_lines("Hauptstraße", "12", "") == ("Hauptstraße 12",)
    assert street_lines("Hauptstraße 12", "Hinterhaus", "Einkauf") == (
        "Hauptstraße 12", "Hinterhaus", "Einkauf")
    assert street_lines("", "Via Roma", "7") == ("Via Roma 7",)
    assert street_lines("", "c/o Müller", "Via Roma 7") == ("c/o Müller", "Via Roma 7")
    assert street_lines("Rue de la Paix", "12b", "Bât. C") == ("Rue de la Paix 12b", "Bât. C")
    assert street_lines("", "", "") == ()


def test_the_same_rows_give_the_same_content_and_a_late_row_changes_it():
    first = docs(build([inv("R1")], DAY, "inv").items)["invoice:R1"]
    again = docs(build([inv("R1")], DAY, "inv").items)["invoice:R1"]
    late = docs(build([inv("R1"), inv("R1", sku="SKU-2")], DAY, "inv").items)["invoice:R1"]
    assert first.content_hash == again.content_hash != late.content_hash
