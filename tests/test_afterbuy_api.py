"""The optional XML API: GetSoldItems with paging, skipped Amazon orders, hostile answers."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from syncd.connectors import Rejected, Skipped, Window
from syncd.errors import ConfigError, InputError
from syncd.model import Document, DocumentKind
from syncd_afterbuy.config import AfterbuyConfig
from syncd_afterbuy.sandbox import AfterbuyEmulator
from syncd_afterbuy.sandbox.generator import make_invoices
from syncd_afterbuy.testing import MemoryInbox, documents, make_source, read_all
from syncd_afterbuy.xmlapi import parse_answer, request_xml

SINCE = date(2026, 10, 1)


@pytest.fixture
def emulator():
    with AfterbuyEmulator(make_invoices(31), amazon_every=10) as em:
        yield em


def api_source(tmp_path, emulator, **values):
    return make_source(tmp_path, MemoryInbox(), **emulator.config_values(
        api=True, api_since=SINCE.isoformat(), **values))


def test_pages_through_get_sold_items_and_skips_amazon_invoiced_orders(tmp_path, emulator):
    source = api_source(tmp_path, emulator, api_page_size=10)
    batches = list(source.read(None))
    assert [len(b.items) for b in batches] == [10, 10, 10, 1]
    assert emulator.count("api") == 4
    items = [i for b in batches for i in b.items]
    skipped = [i for i in items if isinstance(i, Skipped)]
    assert len(skipped) == 3 and all("IsAmazonInvoiced" in s.reason for s in skipped)
    docs = documents(items)
    assert len(docs) == 28 and not [i for i in items if isinstance(i, Rejected)]
    for invoice in make_invoices(31):
        if invoice.number in docs:
            doc = docs[invoice.number]
            assert doc.totals.gross == abs(invoice.gross)
            assert doc.kind is (DocumentKind.CREDIT_NOTE if invoice.credit
                                else DocumentKind.INVOICE)
            assert doc.attachments[0].url.endswith(f"/rechnungen/{invoice.number}.pdf")
    assert batches[0].cursor["api"]["after"] == 480010
    assert "until" not in batches[-1].cursor["api"]


def test_an_interrupted_poll_resumes_after_the_last_order_of_its_cursor(tmp_path, emulator):
    source = api_source(tmp_path, emulator, api_page_size=10)
    reader = source.read(None)
    first = next(reader)
    reader.close()
    rest, cursor = read_all(source, dict(first.cursor))
    keys = [i.source_key for i in first.items + rest]
    assert len(keys) == 31 == len(set(keys))
    assert emulator.count("api") == 4
    again, _ = read_all(source, cursor)  # the next poll: only orders modified since
    assert again == []


def test_orders_modified_later_are_read_by_the_next_poll(tmp_path, emulator):
    source = api_source(tmp_path, emulator)
    _, cursor = read_all(source)
    berlin = datetime.now(ZoneInfo("Europe/Berlin")).replace(tzinfo=None, microsecond=0)
    emulator.add_invoices(make_invoices(2, start_number=20001), modified=berlin)
    items, _ = read_all(source, cursor)
    assert sorted(documents(items)) == ["20001", "20002"]


def test_a_reload_window_filters_by_invoice_date(tmp_path, emulator):
    source = api_source(tmp_path, emulator)
    batches = list(source.read(None, Window(date(2026, 11, 3), date(2026, 11, 4))))
    keys = sorted(i.source_key for b in batches for i in b.items)
    assert keys == ["10006", "10007", "10008", "10009", "10010"]
    assert all(b.cursor is None for b in batches)


def test_wrong_tokens_stop_the_pipeline_with_a_config_error(tmp_path, emulator):
    source = api_source(tmp_path, emulator, account_token="falsch")
    with pytest.raises(ConfigError, match="Authentifizierung fehlgeschlagen"):
        list(source.read(None))
    with pytest.raises(ConfigError):
        source.check()
    api_source(tmp_path, emulator).check()


def test_the_request_carries_tokens_filters_and_range():
    config = AfterbuyConfig(partner_token="p", account_token="a", api_page_size=50)
    body = request_xml(config, date_from=datetime(2026, 11, 1, 8), date_to=datetime(
        2026, 11, 2, 9, 30), after_order=41).decode()
    for part in ("<PartnerToken>p</PartnerToken>", "<CallName>GetSoldItems</CallName>",
                 "<MaxSoldItems>50</MaxSoldItems>", "<DateFrom>01.11.2026 08:00:00</DateFrom>",
                 "<FilterValue>ModDate</FilterValue>", "<ValueFrom>42</ValueFrom>"):
        assert part in body


@pytest.mark.parametrize(("body", "message"), [
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><Afterbuy>&a;</Afterbuy>',
     "refused hostile XML"),
    (b"<Afterbuy><CallStatus>Success", "unreadable XML"),
    (b"<Afterbuy><CallStatus>Error</CallStatus><Result><ErrorList><Error><ErrorCode>9"
     b"</ErrorCode><ErrorDescription>Wartung</ErrorDescription></Error></ErrorList></Result>"
     b"</Afterbuy>", "9: Wartung"),
])
def test_hostile_broken_or_error_answers_are_input_errors(body, message):
    with pytest.raises(InputError, match=message):
        parse_answer(body, AfterbuyConfig())


def test_an_order_whose_items_do_not_add_up_is_rejected_naming_the_field():
    body = (b"<Afterbuy><CallStatus>Success</CallStatus><Result><HasMoreItems>0</HasMoreItems>"
            b"<Orders><Order><InvoiceNumber>501</InvoiceNumber><OrderID>9</OrderID>"
            b"<PaymentInfo><FullAmount>20,00</FullAmount><InvoiceDate>01.11.2026 10:00:00"
            b"</InvoiceDate></PaymentInfo><SoldItems><SoldItem><ItemID>1</ItemID><ItemTitle>T"
            b"</ItemTitle><ItemQuantity>1</ItemQuantity><ItemPrice>11,90</ItemPrice><TaxRate>19,00"
            b"</TaxRate></SoldItem></SoldItems></Order><Order><InvoiceNumber>0</InvoiceNumber>"
            b"<OrderID>10</OrderID></Order></Orders></Result></Afterbuy>")
    page = parse_answer(body, AfterbuyConfig())
    rejected, pending = page.items
    assert isinstance(rejected, Rejected) and rejected.source_key == "501"
    assert "PaymentInfo/FullAmount" in rejected.error and "20.00" in rejected.error
    assert isinstance(pending, Skipped) and "no invoice number yet" in pending.reason
    assert not isinstance(pending, Document)


def test_externally_invoiced_orders_are_skipped_keyed_by_order_without_a_number(
        tmp_path, emulator):
    """Amazon/external invoices often carry InvoiceNumber 0: the skip names the order."""
    emulator.orders[4].external_invoice = True
    emulator.orders[1].invoiced = False  # amazon-invoiced (amazon_every=10) and number 0
    items, _ = read_all(api_source(tmp_path, emulator))
    skipped = {i.source_key: i.reason for i in items if isinstance(i, Skipped)}
    assert skipped == {
        "order-480002": "order 480002 is invoiced outside Afterbuy (IsAmazonInvoiced); "
                        "not booked twice",
        "10005": "order 480005 is invoiced outside Afterbuy (IsExternalInvoice); "
                 "not booked twice",
        "10012": skipped["10012"], "10022": skipped["10022"]}
    assert "10005" not in documents(items) and len(documents(items)) == 27


def test_has_more_items_is_read_as_a_flag():
    body = (b"<Afterbuy><CallStatus>Success</CallStatus><Result><HasMoreItems>True"
            b"</HasMoreItems><LastOrderID>77</LastOrderID><Orders/></Result></Afterbuy>")
    page = parse_answer(body, AfterbuyConfig())
    assert page.has_more and page.last_order_id == 77


def test_a_server_error_on_get_sold_items_is_retried(tmp_path, emulator):
    emulator.fail_next["api"] = [500]
    source = api_source(tmp_path, emulator)
    items, _ = read_all(source)
    assert len(documents(items)) == 28 and emulator.count("api", 500) == 1
