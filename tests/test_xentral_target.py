"""The Xentral target's steps against the emulator, driven one by one as the engine would."""

from __future__ import annotations

import pytest

from syncd.errors import PermanentError, TransientError
from syncd.model import AttachmentRole, DocumentKind, Fulfilment, Link, LinkKind
from syncd_xentral import mapping
from syncd_xentral.sandbox import XentralEmulator
from syncd_xentral.testing import (
    PDF,
    FakeRenderer,
    amazon_document,
    job_for,
    make_target,
    run_job,
    stored,
)

ORDER = "302-0000001-0000001"


@pytest.fixture
def emulator(shared_specs):
    with XentralEmulator(products=("PORTO", "RABATT", "GESCHENK", "SKU-1", "SKU-2"),
                         limit=1000, period=1.0) as emu:
        yield emu
        assert emu.state.spec_violations == []  # every request syncd sent was on the spec


@pytest.fixture
def target(emulator, tmp_path):
    emulator.state.add_sales_order(ORDER)
    target = make_target(emulator, tmp_path)
    yield target
    target.close()


def test_invoice_with_pdf_and_paid_costs_three_requests_after_prepare(target, emulator):
    jobs = [job_for(amazon_document(f"INV-{i}", order_id=ORDER)) for i in range(5)]
    target.prepare(jobs)
    before = target.api.requests
    done = [run_job(target, job) for job in jobs]
    assert (target.api.requests - before) / len(jobs) == 3  # create, attach, paid
    invoice = emulator.state.documents["invoices"][done[0].steps["document"].ref]
    assert invoice["documentNumber"] == "INV-0" and invoice["status"] == "released"
    order = next(iter(emulator.state.documents["salesOrders"].values()))
    assert invoice["salesOrder"] == {"id": order["id"]}  # linked by the Amazon order id
    assert invoice["project"] == {"id": "3"}  # FBA project
    assert invoice["financials"] == {"currency": "EUR", "tax": {"taxation": "domestic"}}
    assert invoice["totals"]["gross"]["amount"] == "34.75"
    assert invoice["paymentStatus"] == "paid"
    assert [f["keyword"] for f in emulator.state.files][:1] == ["attachment"]
    assert target.context.renderer.rendered[:1] == ["amazon:INV-0"]  # rendered in prepare


def test_missing_sku_names_it(target):
    job = job_for(amazon_document(skus=("NOPE-9",), order_id=ORDER))
    with pytest.raises(PermanentError, match="'NOPE-9'") as info:
        target.run_step("document", job)
    assert info.value.code == "product-missing"
    assert "create_missing_products" in str(info.value)


def test_missing_sku_created_when_allowed(emulator, tmp_path):
    emulator.state.add_sales_order(ORDER)
    target = make_target(emulator, tmp_path, create_missing_products=True)
    run_job(target, job_for(amazon_document(skus=("NEW-1",), order_id=ORDER)))
    assert any(p["number"] == "NEW-1" for p in emulator.state.products.values())


def test_missing_order_without_expert_mode_waits_in_error(target, emulator):
    job = job_for(amazon_document(order_id="999-0000000-0000000"))
    with pytest.raises(PermanentError, match=r"999-0000000-0000000.*expert mode is off"):
        target.run_step("document", job)
    assert emulator.state.count("invoices") == 0


def test_expert_mode_creates_the_order_once(emulator, tmp_path):
    target = make_target(emulator, tmp_path, create_orders=True)
    order = amazon_document("O-1", kind=DocumentKind.ORDER, order_id="111-1")
    assert target.steps(order) == ("document",)
    made = run_job(target, job_for(order))
    assert target.find_step("document", job_for(order)).ref == made.steps["document"].ref
    run_job(target, job_for(amazon_document("INV-7", order_id="111-1")))
    orders = list(emulator.state.documents["salesOrders"].values())
    assert [o["externalOrderNumber"] for o in orders] == ["111-1"]
    invoice = next(iter(emulator.state.documents["invoices"].values()))
    assert invoice["salesOrder"]["id"] == orders[0]["id"]


def test_credit_note_links_its_invoice(target, emulator):
    invoice = run_job(target, job_for(amazon_document("INV-1", order_id=ORDER)))
    note = amazon_document("CN-1", kind=DocumentKind.CREDIT_NOTE, order_id=ORDER,
                           links=[Link(kind=LinkKind.INVOICE, source_key="INV-1")])
    assert target.steps(note) == ("document", "pdf")  # credit notes are not marked paid
    done = run_job(target, job_for(note, invoice_ref=invoice.steps["document"].ref))
    row = emulator.state.documents["creditNotes"][done.steps["document"].ref]
    assert row["invoice"] == {"id": invoice.steps["document"].ref}
    assert row["documentNumber"] == "CN-1"  # the source's number, unlike the seed's module


def test_5xx_after_create_is_found_not_created_twice(target, emulator):
    job = job_for(amazon_document(order_id=ORDER))
    emulator.state.fail_next["create:invoices"] = ["after"]
    with pytest.raises(TransientError) as info:
        target.run_step("document", job)
    assert info.value.code == "500"
    found = target.find_step("document", job)  # the engine asks before repeating the step
    assert found is not None and found.detail["documentNumber"] == "INV-1"
    assert emulator.state.count("invoices") == 1
    assert len(emulator.state.calls("create:invoices")) == 1


def test_duplicate_number_answer_is_resolved_by_lookup(target, emulator):
    job = job_for(amazon_document(order_id=ORDER))
    first = target.run_step("document", job)
    again = target.run_step("document", job)  # e.g. a resend whose lookup raced
    assert again.ref == first.ref and emulator.state.count("invoices") == 1
    assert emulator.state.calls("create:invoices")[-1].status == 400


def test_crash_between_create_and_attach_repeats_only_the_attachment(target, emulator):
    job = job_for(amazon_document(order_id=ORDER))
    job = job.with_step("document", target.run_step("document", job))
    # the worker dies here; the engine has committed "document" and resumes with "pdf"
    assert target.find_step("pdf", job) is None
    done = run_job(target, job)
    assert list(done.steps) == ["document", "pdf", "paid"]
    assert len(emulator.state.calls("create:invoices")) == 1
    assert len(emulator.state.files) == 1


def test_attach_that_landed_is_found_in_the_activity_log(target, emulator):
    job = job_for(amazon_document(order_id=ORDER))
    job = job.with_step("document", target.run_step("document", job))
    emulator.state.fail_next["attachFile:invoices"] = ["after"]
    with pytest.raises(TransientError):
        target.run_step("pdf", job)
    found = target.find_step("pdf", job)
    assert found is not None and found.detail["fileName"] == "INV-1.pdf"
    assert len(emulator.state.files) == 1


def test_source_pdf_and_einvoice_are_attached_as_given(emulator, tmp_path):
    emulator.state.add_sales_order(ORDER)
    renderer = FakeRenderer()
    target = make_target(emulator, tmp_path, renderer=renderer, mark_fba_paid=False)
    document = amazon_document(order_id=ORDER, fulfilment=Fulfilment.FBM)
    document = document.model_copy(update={"attachments": (
        *document.attachments, _ref("x.xml", AttachmentRole.EINVOICE))})
    job = job_for(document, attachments=[stored(PDF), stored(b"<Invoice/>",
                                                             AttachmentRole.EINVOICE)])
    assert target.steps(document) == ("document", "pdf", "einvoice")
    target.prepare([job])
    run_job(target, job)
    assert renderer.rendered == []
    assert [(f["keyword"], f["fileName"]) for f in emulator.state.files] == [
        ("attachment", "INV-1.pdf"), ("eInvoice", "INV-1.xml")]
    invoice = next(iter(emulator.state.documents["invoices"].values()))
    assert invoice["project"] == {"id": "4"} and invoice["paymentStatus"] == "pending"


def _ref(name, role):
    from syncd.model import Attachment

    return Attachment(filename=name, media_type="application/xml", role=role, sha256="0" * 64)


def test_taxation_from_countries_and_vat_id():
    assert mapping.taxation(amazon_document(country="DE"), "DE") == "domestic"
    assert mapping.taxation(amazon_document(country="FR"), "DE") == "domestic"  # B2C OSS
    assert mapping.taxation(amazon_document(country="FR", vat_id="FR123"), "DE") == "eu"
    assert mapping.taxation(amazon_document(country="CH"), "DE") == "export"


def test_per_buyer_customer_found_or_created_once(emulator, tmp_path):
    emulator.state.add_sales_order(ORDER)
    target = make_target(emulator, tmp_path, customer="per-buyer")
    run_job(target, job_for(amazon_document("INV-1", order_id=ORDER)))
    run_job(target, job_for(amazon_document("INV-2", order_id=ORDER)))
    buyers = [c for c in emulator.state.customers.values() if c["name"] == "Erika Mustermann"]
    assert len(buyers) == 1
    assert len(emulator.state.calls("createCustomer")) == 1


def test_gross_based_lines_keep_net_and_gross_to_the_cent(target, emulator):
    from decimal import Decimal

    from syncd.model import Line, build_document

    base = amazon_document(order_id=ORDER, shipping=False)
    lines = [  # gross-based like Amainvoice: 158.74 paid, net derived 148.36 (not 148.36 x 1.07)
        Line(description="Kochbuch", sku="SKU-1", quantity=Decimal(2), net=Decimal("148.36"),
             vat_rate=Decimal("0.07"), vat=Decimal("10.38"), gross=Decimal("158.74")),
        Line(description="Zahnbürsten", sku="SKU-2", quantity=Decimal(3),
             net=Decimal("126.78"), vat_rate=Decimal("0.2"), vat=Decimal("25.35"),
             gross=Decimal("152.13"))]
    document = build_document(**{**base.model_dump(exclude={"lines", "vat_breakdown",
                                                            "totals"}), "lines": lines})
    result = target.run_step("document", job_for(document))
    row = emulator.state.documents["invoices"][result.ref]
    assert row["totals"]["gross"]["amount"] == "310.87"
    assert row["totals"]["net"]["amount"] == "275.14"
    assert [i["price"]["net"]["amount"] for i in row["lineItems"]] == [74.17757009,
                                                                      42.25833334]


def test_line_xentral_cannot_represent_is_refused_before_sending(target, emulator):
    from decimal import Decimal

    from syncd.model import Line, build_document

    base = amazon_document(order_id=ORDER, shipping=False)
    odd = Line(description="Odd", sku="SKU-1", net=Decimal("10.00"), vat_rate=Decimal("0.19"),
               vat=Decimal("0.50"), gross=Decimal("10.50"))  # VAT not 19 % of the net
    document = build_document(**{**base.model_dump(exclude={"lines", "vat_breakdown",
                                                            "totals"}), "lines": [odd]})
    with pytest.raises(PermanentError, match="cannot be written") as info:
        target.run_step("document", job_for(document))
    assert info.value.code == "bad-price"
    assert emulator.state.count("invoices") == 0


def test_order_document_without_expert_mode_confirms_the_existing_order(target, emulator):
    order = amazon_document("O-2", kind=DocumentKind.ORDER, order_id=ORDER)
    result = target.run_step("document", job_for(order))
    assert result.ref == next(iter(emulator.state.documents["salesOrders"]))
    missing = amazon_document("O-3", kind=DocumentKind.ORDER, order_id="777-1")
    with pytest.raises(PermanentError, match="expert mode"):
        target.run_step("document", job_for(missing))
    assert emulator.state.count("salesOrders") == 1


def test_per_buyer_without_full_address_uses_the_collective_customer(emulator, tmp_path):
    from syncd.model import Address

    emulator.state.add_sales_order(ORDER)
    target = make_target(emulator, tmp_path, customer="per-buyer")
    partial = Address(name="Anon", postal_code="10115", city="Berlin", country="DE")
    document = amazon_document(order_id=ORDER).model_copy(
        update={"billing_address": partial, "shipping_address": partial})
    result = target.run_step("document", job_for(document))
    row = emulator.state.documents["invoices"][result.ref]
    assert row["address"] == {"id": emulator.collective_customer}
    assert emulator.state.calls("createCustomer") == []


def test_credit_note_without_link_finds_its_invoice_by_the_order(target, emulator):
    invoice = run_job(target, job_for(amazon_document("INV-1", order_id=ORDER)))
    note = amazon_document("CN-1", kind=DocumentKind.CREDIT_NOTE, order_id=ORDER)
    job = job_for(note)
    target.prepare([job])
    assert "amazon:CN-1" not in target.context.renderer.rendered  # waits for the invoice
    done = run_job(target, job)
    assert done.steps["document"].detail["invoiceNumber"] == "INV-1"
    row = emulator.state.documents["creditNotes"][done.steps["document"].ref]
    assert row["invoice"] == {"id": invoice.steps["document"].ref}
    assert target.context.renderer.rendered[-1] == "amazon:CN-1"


def test_credit_note_whose_invoice_is_not_there_yet_is_retried(target, emulator):
    note = amazon_document("CN-9", kind=DocumentKind.CREDIT_NOTE, order_id=ORDER)
    with pytest.raises(TransientError, match="not in Xentral yet") as info:
        target.run_step("document", job_for(note))
    assert info.value.code == "invoice-missing" and emulator.state.count("creditNotes") == 0


def test_credit_note_naming_an_invoice_xentral_never_had_is_created_unlinked(target, emulator):
    note = amazon_document("CN-5", kind=DocumentKind.CREDIT_NOTE, order_id=ORDER)
    note = note.model_copy(update={"original_invoice_number": "INV-2025-000917"})
    done = run_job(target, job_for(note))
    row = emulator.state.documents["creditNotes"][done.steps["document"].ref]
    assert "invoice" not in row and done.steps["document"].detail["invoiceNumber"] == \
        "INV-2025-000917"


def test_unnumbered_documents_share_the_sources_series_with_other_targets(target):
    invoice = amazon_document(number="")
    assert target.number_series(invoice).name == "amazon-invoice"  # as the amazon target's
    note = amazon_document(kind=DocumentKind.CREDIT_NOTE, number="")
    assert target.number_series(note).name == "amazon-credit-note"
    assert target.number_series(amazon_document(kind=DocumentKind.ORDER)) is None


def test_a_created_answer_without_id_leaves_the_step_in_doubt(target, emulator):
    job = job_for(amazon_document(order_id=ORDER))
    emulator.state.fail_next["create:invoices"] = ["garbage"]
    with pytest.raises(TransientError, match=r"without data\.id") as info:
        target.run_step("document", job)
    assert info.value.code == "garbage"
    assert target.find_step("document", job) is not None and \
        emulator.state.count("invoices") == 1


def test_sku_known_only_as_an_external_number_is_found(emulator, tmp_path):
    emulator.state.add_sales_order(ORDER)
    pid = emulator.state.add_product("X-100", external=["AMZ-SKU-7"])
    target = make_target(emulator, tmp_path)
    done = run_job(target, job_for(amazon_document(skus=("AMZ-SKU-7",), order_id=ORDER)))
    row = emulator.state.documents["invoices"][done.steps["document"].ref]
    assert row["lineItems"][0]["product"] == {"id": pid}


def test_an_order_imported_later_is_seen_by_the_next_batch(emulator, tmp_path):
    target = make_target(emulator, tmp_path)
    job = job_for(amazon_document(order_id="555-1"))
    target.prepare([job])
    with pytest.raises(PermanentError, match="expert mode is off"):
        target.run_step("document", job)
    emulator.state.add_sales_order("555-1")  # Xentral's Amazon importer caught up
    target.prepare([job])  # the operator reset the document: a new batch
    assert target.run_step("document", job).ref


def test_a_credit_note_found_after_a_lost_answer_still_names_its_invoice(target, emulator):
    from syncd_xentral.files import renderable

    run_job(target, job_for(amazon_document("INV-1", order_id=ORDER)))
    job = job_for(amazon_document("CN-1", kind=DocumentKind.CREDIT_NOTE, order_id=ORDER))
    emulator.state.fail_next["create:creditNotes"] = ["after"]
    with pytest.raises(TransientError):
        target.run_step("document", job)
    found = target.find_step("document", job)
    assert found.detail["invoiceNumber"] == "INV-1" and found.detail["invoiceDate"]
    job = job.with_step("document", found)
    assert renderable(job).original_invoice_number == "INV-1"  # the PDF names it (§31 UStDV)
    run_job(target, job)
    assert emulator.state.count("creditNotes") == 1 and len(emulator.state.files) == 2
