"""Helpers for tests and the benchmark: Amazon-like documents, hand-built Jobs, a target.

Jobs are built the way the engine builds them (`syncd.jobs.Job` is a plain frozen value), so
the target's steps can be driven one by one, crashes included.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from syncd.context import ConnectorContext
from syncd.jobs import Job, LinkedDocument, RemoteRef, StepResult, StoredAttachment
from syncd.model import (
    CENT,
    Address,
    AttachmentRole,
    Buyer,
    Document,
    DocumentKind,
    Fulfilment,
    Line,
    LineKind,
    Link,
    LinkKind,
    References,
    build_document,
)
from syncd_xentral.config import XentralConfig
from syncd_xentral.target import XentralTarget

PDF = b"%PDF-1.7\n% syncd xentral test\n%%EOF\n"


def line(description: str, net: str, *, sku: str | None = None, quantity: int = 1,
         rate: str = "0.19", kind: LineKind = LineKind.ITEM) -> Line:
    amount = Decimal(net)
    vat = (amount * Decimal(rate)).quantize(CENT)
    return Line(kind=kind, description=description, sku=sku, quantity=Decimal(quantity),
                net=amount, vat_rate=Decimal(rate), vat=vat, gross=amount + vat)


def amazon_document(key: str = "INV-1", *, kind: DocumentKind = DocumentKind.INVOICE,
                    number: str | None = None, order_id: str = "302-0000001-0000001",
                    fulfilment: Fulfilment = Fulfilment.FBA, country: str = "DE",
                    vat_id: str | None = None, skus: Sequence[str] = ("SKU-1",),
                    links: Sequence[Link] = (), shipping: bool = True) -> Document:
    lines = [line(f"Product {sku}", "25.00", sku=sku, quantity=2) for sku in skus]
    if shipping:
        lines.append(line("Versand", "4.20", kind=LineKind.SHIPPING))
    address = Address(name="Erika Mustermann", lines=("Heidestraße 17",), postal_code="51147",
                      city="Köln", country=country)
    return build_document(
        kind=kind, source="amazon", source_key=key, currency="EUR",
        number=number if number is not None else (None if kind is DocumentKind.ORDER else key),
        issue_date=date(2026, 11, 30), delivery_date=date(2026, 11, 29),
        buyer=Buyer(name="Erika Mustermann", email="erika@marketplace.amazon.de",
                    vat_id=vat_id),
        billing_address=address, shipping_address=address, fulfilment=fulfilment,
        references=References(order_id=order_id), lines=lines, links=tuple(links))


def stored(data: bytes, role: AttachmentRole = AttachmentRole.PDF,
           filename: str = "doc.pdf") -> StoredAttachment:
    return StoredAttachment(filename=filename, media_type="application/pdf"
                            if role is AttachmentRole.PDF else "application/xml", role=role,
                            sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                            read=lambda: data)


def job_for(document: Document, *, steps: dict[str, StepResult] | None = None,
            attachments: Sequence[StoredAttachment] = (),
            invoice_ref: str | None = None, invoice_number: str | None = None) -> Job:
    links = {}
    if invoice_ref is not None or document.link(LinkKind.INVOICE) is not None:
        linked = document.link(LinkKind.INVOICE)
        links[LinkKind.INVOICE] = LinkedDocument(
            kind=LinkKind.INVOICE, source_key=linked.source_key if linked else "?",
            number=invoice_number, issue_date=None,
            remote=RemoteRef(invoice_ref) if invoice_ref else None)
    return Job(document=document, pipeline="p", target="xentral", steps=steps or {},
               links=links, attachments=tuple(attachments))


class FakeRenderer:
    """Stands in for the pdf renderer: a tiny PDF per document, counting the calls."""

    def __init__(self) -> None:
        self.rendered: list[str] = []

    def render(self, document: Document) -> bytes:
        self.rendered.append(document.identity)
        return PDF + document.identity.encode()

    def render_many(self, documents: Sequence[Document]) -> list[bytes]:
        return [self.render(d) for d in documents]


def make_target(emulator: Any, tmp_path: Path, renderer: Any = None,
                **overrides: Any) -> XentralTarget:
    values = emulator.config_values(**overrides)
    config = XentralConfig.model_validate(values)
    context = ConnectorContext(plugin="xentral", data_dir=tmp_path,
                               renderer=renderer or FakeRenderer())
    return XentralTarget(config, context)


def run_job(target: XentralTarget, job: Job) -> Job:
    """Every remaining step in order, as the engine would (find_step first when in doubt)."""
    for step in target.steps(job.document):
        if step in job.steps:
            continue
        job = job.with_step(step, target.run_step(step, job))
    return job
