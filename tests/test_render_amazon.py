"""The real PDF renderer on documents the Amazon plugin builds from a VIDR, uploaded to the
emulator, which reads the invoice number back from the PDF (contract check)."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

import pytest

pytest.importorskip("syncd_amazon", reason="the amazon plugin is not installed")

from syncd.connectors import Company
from syncd.model import Document
from syncd.render import RenderOptions
from syncd.render.pdf import PdfRenderer
from syncd.render.samples import SELLER

from . import test_amazon_target as amazon
from .render_helpers import pdf_text

# the Amazon target's fixtures, with the real renderer instead of the test stand-in
emulator, source, target = amazon.emulator, amazon.source, amazon.target


class RecordingPdfRenderer(PdfRenderer):
    """The built-in renderer, remembering what it rendered."""

    name: ClassVar[str] = "pdf"

    def __init__(self) -> None:
        super().__init__(RenderOptions(), Company(seller=SELLER), workers=1)
        self.rendered: list[tuple[Document, bytes]] = []

    def render(self, document: Document) -> bytes:
        pdf = super().render(document)
        self.rendered.append((document, pdf))
        return pdf


@pytest.fixture
def renderer() -> RecordingPdfRenderer:
    return RecordingPdfRenderer()


def numbered(items: list, suffix: str, number: str) -> Document:
    """As the engine numbers a document: number plus issue date."""
    found = next(i for i in items if isinstance(i, Document) and i.source_key.endswith(suffix))
    return found.with_number(number, issue_date=date(2026, 11, 21))


def test_amazon_invoice_and_credit_note_render_and_upload(emulator, source, target, renderer):
    items = amazon.pending(source)
    target.deliver(numbered(items, "DEMO-S01/SHIPMENT/T-S01", "INV-2026-000011"))
    credit = amazon.job_of(numbered(items, "DEMO-S01/RETURN/R-S01", "CN-2026-000003"),
                           invoice="INV-2026-000011")  # the engine's job.links
    target.run_step("feed", credit.with_step("upload", target.run_step("upload", credit)))
    assert all(not feed.errors for feed in emulator.state.feeds.values())
    assert not emulator.state.spec_violations
    (invoice, invoice_pdf), (credit, credit_pdf) = renderer.rendered
    text = pdf_text(invoice_pdf)
    assert "INV-2026-000011" in text and str(invoice.references.order_id) in text
    assert credit.original_invoice_number == "INV-2026-000011"  # filled in by the target
    credit_text = pdf_text(credit_pdf)
    assert "CN-2026-000003" in credit_text and "INV-2026-000011" in credit_text
