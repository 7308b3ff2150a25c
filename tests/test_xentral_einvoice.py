"""E-invoices syncd makes itself reach Xentral as the `eInvoice` file (issue #14 item 5).

The real pdf renderer (einvoice "auto" unless said otherwise) against the Xentral emulator,
which records every request: a domestic B2B document gets its EN 16931 XML (checked against
the official XSD), a B2C one gets none, and a source's own XML still wins.
"""

from __future__ import annotations

import base64

import facturx
import pytest
from lxml import etree

from syncd.connectors import Company
from syncd.model import AttachmentRole, DocumentKind, Fulfilment, Link, LinkKind
from syncd.render import RenderOptions
from syncd.render.cii import NSMAP
from syncd.render.pdf import PdfRenderer
from syncd.render.samples import SELLER
from syncd_xentral.sandbox import XentralEmulator
from syncd_xentral.testing import amazon_document, job_for, make_target, run_job, stored

ORDER = "302-0000001-0000001"
BUYER_VAT = "DE987654321"


@pytest.fixture
def emulator(shared_specs):
    with XentralEmulator(products=("PORTO", "RABATT", "GESCHENK", "SKU-1", "SKU-2"),
                         limit=1000, period=1.0) as emu:
        emu.state.add_sales_order(ORDER)
        yield emu
        assert emu.state.spec_violations == []


def renderer(mode: str = "auto") -> PdfRenderer:
    return PdfRenderer(RenderOptions(einvoice=mode), Company(seller=SELLER), workers=1)


class Sent:
    """The file uploads the target sent, checked against what the emulator accepted (it
    records each file's keyword, name, size and first bytes, not the whole file)."""

    def __init__(self, target, emulator) -> None:
        self.emulator, self.bodies = emulator, []
        create = target.api.create

        def tap(path, body, *args, **kwargs):
            if path.endswith("/files"):
                self.bodies.append(body)
            return create(path, body, *args, **kwargs)

        target.api.create = tap

    def __call__(self, keyword: str) -> list[tuple[str, bytes]]:
        accepted = {(f["keyword"], f["fileName"], f["size"]) for f in self.emulator.state.files}
        out = []
        for body in self.bodies:
            data = base64.b64decode(body["fileContent"])
            if body["keyword"] == keyword:
                assert (keyword, body["fileName"], len(data)) in accepted  # decoded size
                out.append((body["fileName"], data))
        return out


def test_domestic_b2b_invoice_gets_its_xml_beside_the_rendered_pdf(emulator, tmp_path):
    target = make_target(emulator, tmp_path, renderer=renderer(), mark_fba_paid=False)
    received = Sent(target, emulator)
    document = amazon_document("INV-B2B-1", order_id=ORDER, vat_id=BUYER_VAT,
                               fulfilment=Fulfilment.FBM)
    assert target.steps(document) == ("document", "pdf", "einvoice")
    job = job_for(document)
    target.prepare([job])
    assert len(target.files.pdfs) == 1  # the PDF came from the batch
    done = run_job(target, job)
    assert done.steps["einvoice"].detail["fileName"] == "INV-B2B-1.xml"
    [(pdf_name, pdf)] = received("attachment")
    [(name, xml)] = received("eInvoice")
    assert pdf_name == "INV-B2B-1.pdf" and pdf.startswith(b"%PDF-")
    assert name == "INV-B2B-1.xml"
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931") is True
    root = etree.fromstring(xml)
    assert root.findtext(".//rsm:ExchangedDocument/ram:ID", namespaces=NSMAP) == "INV-B2B-1"
    assert root.findtext(".//ram:BuyerTradeParty/ram:SpecifiedTaxRegistration/ram:ID",
                         namespaces=NSMAP) == BUYER_VAT
    # a repeated attempt finds the XML in the activity log instead of sending it twice
    assert target.find_step("einvoice", done) is not None


def test_b2c_invoice_gets_no_xml_under_auto(emulator, tmp_path):
    target = make_target(emulator, tmp_path, renderer=renderer(), mark_fba_paid=False)
    received = Sent(target, emulator)
    document = amazon_document("INV-B2C-1", order_id=ORDER, fulfilment=Fulfilment.FBM)
    assert target.steps(document) == ("document", "pdf")
    job = job_for(document)
    target.prepare([job])
    run_job(target, job)
    assert [n for n, _ in received("attachment")] == ["INV-B2C-1.pdf"]
    assert received("eInvoice") == []


def test_cross_border_b2b_gets_xml_only_when_the_pipeline_asks(emulator, tmp_path):
    document = amazon_document("INV-FR-1", order_id=ORDER, vat_id="FR98765432109",
                               country="FR", fulfilment=Fulfilment.FBM)
    auto = make_target(emulator, tmp_path, renderer=renderer("auto"))
    assert "einvoice" not in auto.steps(document)  # "auto" is the German domestic rule
    always = make_target(emulator, tmp_path, renderer=renderer("xrechnung"),
                         mark_fba_paid=False)
    received = Sent(always, emulator)
    run_job(always, job_for(document))
    [(_, xml)] = received("eInvoice")
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931") is True
    assert b"xrechnung" in xml  # the XRechnung guideline in that mode


def test_b2b_credit_note_xml_names_the_invoice_it_corrects(emulator, tmp_path):
    target = make_target(emulator, tmp_path, renderer=renderer(), mark_fba_paid=False)
    received = Sent(target, emulator)
    invoice = run_job(target, job_for(amazon_document(
        "INV-B2B-2", order_id=ORDER, vat_id=BUYER_VAT, fulfilment=Fulfilment.FBM)))
    note = amazon_document("CN-B2B-2", kind=DocumentKind.CREDIT_NOTE, order_id=ORDER,
                           vat_id=BUYER_VAT, fulfilment=Fulfilment.FBM,
                           links=(Link(kind=LinkKind.INVOICE, source_key="INV-B2B-2"),))
    job = job_for(note, invoice_ref=invoice.steps["document"].ref, invoice_number="INV-B2B-2")
    target.prepare([job])
    run_job(target, job)
    xml = dict(received("eInvoice"))["CN-B2B-2.xml"]
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931") is True
    root = etree.fromstring(xml)
    assert root.findtext(".//rsm:ExchangedDocument/ram:TypeCode", namespaces=NSMAP) == "381"
    assert root.findtext(".//ram:InvoiceReferencedDocument/ram:IssuerAssignedID",
                         namespaces=NSMAP) == "INV-B2B-2"


def sent_by_the_source(number: str, role: AttachmentRole, data: bytes):
    """A B2B FBM invoice whose source sent a file of `role`, and its job."""
    from syncd.model import Attachment

    document = amazon_document(number, order_id=ORDER, vat_id=BUYER_VAT,
                               fulfilment=Fulfilment.FBM)
    media = "application/pdf" if role is AttachmentRole.PDF else "application/xml"
    document = document.model_copy(update={"attachments": (
        Attachment(role=role, filename="from-source", media_type=media, sha256="0" * 64,
                   size=len(data)),)})
    return document, job_for(document, attachments=[stored(data, role)])


def test_the_sources_own_xml_wins_over_rendering(emulator, tmp_path):
    target = make_target(emulator, tmp_path, renderer=renderer(), mark_fba_paid=False)
    received = Sent(target, emulator)
    source_xml = b"<?xml version='1.0'?><Invoice>from the source</Invoice>"
    _document, job = sent_by_the_source("INV-B2B-3", AttachmentRole.EINVOICE, source_xml)
    run_job(target, job)
    assert received("eInvoice") == [("INV-B2B-3.xml", source_xml)]


def test_a_document_its_source_issued_as_pdf_gets_no_made_up_xml(emulator, tmp_path):
    """Amainvoice or Afterbuy issued the invoice (their PDF): the e-invoice is the issuer's,
    syncd does not make a second original from the data."""
    target = make_target(emulator, tmp_path, renderer=renderer(), mark_fba_paid=False)
    received = Sent(target, emulator)
    source_pdf = b"%PDF-1.4 issued by the source"
    document, job = sent_by_the_source("INV-B2B-4", AttachmentRole.PDF, source_pdf)
    assert target.steps(document) == ("document", "pdf")
    run_job(target, job)
    assert received("attachment") == [("INV-B2B-4.pdf", source_pdf)]
    assert received("eInvoice") == []
