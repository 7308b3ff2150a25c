"""E-invoices syncd makes itself reach lexoffice as a voucher file (issue #14 item 5).

The real pdf renderer (einvoice "auto") against the lexoffice emulator, which keeps every
file it received: a domestic B2B voucher gets its PDF *and* its EN 16931 XML (checked against
the official XSD), a B2C one only its PDF; `attach_einvoice = false` turns the XML off.
"""

from __future__ import annotations

import facturx
import pytest
from lxml import etree

from syncd.connectors import Company
from syncd.render import RenderOptions
from syncd.render.cii import NSMAP
from syncd.render.pdf import PdfRenderer
from syncd.render.samples import SELLER
from syncd_lexoffice.config import LexofficeOptions
from syncd_lexoffice.sandbox import LexofficeEmulator
from syncd_lexoffice.testing import deliver, make_job, make_target, sample_document


@pytest.fixture
def emulator():
    with LexofficeEmulator(rate=50.0) as emu:
        yield emu


@pytest.fixture
def target(emulator, tmp_path):
    renderer = PdfRenderer(RenderOptions(einvoice="auto"), Company(seller=SELLER), workers=1)
    t = make_target(emulator, tmp_path, renderer=renderer)
    yield t
    t.close()


def files_of(emulator, number: str) -> list[bytes]:
    """The contents lexoffice holds for the voucher numbered `number`."""
    [voucher] = emulator.state.by_number(number)
    held = {file_id: data for file_id, _voucher, data in emulator.state.files.values()}
    return [held[file_id] for file_id in voucher.files]


def b2b(key: str, **fields):
    return sample_document(key, company="Muster Werkzeuge GmbH", vat_id="DE987654321", **fields)


def test_domestic_b2b_voucher_gets_pdf_and_xml(emulator, target):
    jobs = [make_job(b2b("b1")), make_job(sample_document("c1"))]
    target.prepare(jobs)
    assert len(target.files.pdfs) == 2  # both PDFs from one batch
    done = [deliver(target, job) for job in jobs]
    assert set(done[0].steps["file"].detail["files"]) == {"RE-b1.pdf", "RE-b1.xml"}
    pdf, xml = files_of(emulator, "RE-b1")
    assert pdf.startswith(b"%PDF-")
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931") is True
    root = etree.fromstring(xml)
    assert root.findtext(".//rsm:ExchangedDocument/ram:ID", namespaces=NSMAP) == "RE-b1"
    assert root.findtext(".//ram:BuyerTradeParty/ram:Name", namespaces=NSMAP) \
        == "Muster Werkzeuge GmbH"
    # B2C under "auto": the PDF only
    assert list(done[1].steps["file"].detail["files"]) == ["RE-c1.pdf"]
    [only] = files_of(emulator, "RE-c1")
    assert only.startswith(b"%PDF-")


def test_attach_einvoice_false_sends_no_xml(emulator, target):
    job = make_job(b2b("b2"), options=LexofficeOptions(attach_einvoice=False))
    deliver(target, job)
    [pdf] = files_of(emulator, "RE-b2")
    assert pdf.startswith(b"%PDF-")


def test_a_document_that_cannot_be_an_einvoice_creates_no_voucher(emulator, target):
    from syncd.errors import PermanentError

    document = b2b("b3")
    nameless = document.model_copy(update={
        "buyer": document.buyer.model_copy(update={"name": None, "company": None}),
        "billing_address": document.billing_address.model_copy(
            update={"name": None, "company": None}),
        "shipping_address": None})
    job = make_job(nameless)
    with pytest.raises(PermanentError, match="no e-invoice XML for lexoffice"):
        target.run_step("voucher", job)
    assert emulator.state.by_number("RE-b3") == []


def test_a_voucher_whose_source_issued_the_pdf_gets_no_made_up_xml(emulator, target):
    """The source's PDF is the issued invoice: lexoffice gets it, and no XML syncd made."""
    import hashlib

    from syncd.jobs import StoredAttachment
    from syncd.model import Attachment, AttachmentRole

    source_pdf = b"%PDF-1.4 issued by the source"
    document = b2b("b9").model_copy(update={"attachments": (
        Attachment(role=AttachmentRole.PDF, filename="R-b9.pdf", media_type="application/pdf",
                   sha256=hashlib.sha256(source_pdf).hexdigest(), size=len(source_pdf)),)})
    stored = StoredAttachment("R-b9.pdf", "application/pdf", AttachmentRole.PDF,
                              hashlib.sha256(source_pdf).hexdigest(), len(source_pdf),
                              lambda: source_pdf)
    deliver(target, make_job(document, attachments=(stored,)))
    assert files_of(emulator, "RE-b9") == [source_pdf]
