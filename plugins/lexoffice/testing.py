"""Helpers for tests and the benchmark: sample documents, a target wired to an emulator, and
a tiny renderer (one distinct PDF per document, as lexoffice dedups files by checksum)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from syncd.context import ConnectorContext
from syncd.jobs import Job, StepResult
from syncd.model import (
    CENT,
    Address,
    Buyer,
    Document,
    DocumentKind,
    LegalNotes,
    Line,
    Marketplace,
    References,
    build_document,
)
from syncd_lexoffice.config import LexofficeConfig, LexofficeOptions
from syncd_lexoffice.target import LexofficeTarget


class TinyRenderer:
    """A valid one-page PDF naming the document; `size` pads it (for the 5 MB test)."""

    def __init__(self, pad: int = 0) -> None:
        self.pad = pad
        self.calls = 0

    def render(self, document: Document) -> bytes:
        self.calls += 1
        text = f"{document.number} {document.source_key}".encode()
        return (b"%PDF-1.4\n% " + text + b"\n" + b"0" * self.pad
                + b"\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")

    def render_many(self, documents: Iterable[Document]) -> list[bytes]:
        return [self.render(d) for d in documents]


def sample_document(key: str = "1", *, number: str | None = None, kind: str = "invoice",
                    issue: date = date(2026, 3, 14), lines: Iterable[tuple[str, str]] = (
                        ("100.00", "0.19"),), currency: str = "EUR", country: str = "DE",
                    company: str | None = None, vat_id: str | None = None,
                    legal: LegalNotes | None = None, source: str = "afterbuy",
                    **fields: Any) -> Document:
    """A numbered document with one line per (net, rate)."""
    built = []
    for i, (net, rate) in enumerate(lines):
        amount, vat_rate = Decimal(net), Decimal(rate)
        vat = (amount * vat_rate).quantize(CENT)
        built.append(Line(description=f"Artikel {i}", net=amount, vat_rate=vat_rate, vat=vat,
                          gross=amount + vat))
    address = Address(name="Erika Mustermann", company=company, lines=("Hauptstr. 1",),
                      postal_code="10115", city="Berlin", country=country)
    return build_document(
        kind=DocumentKind(kind), source=source, source_key=key, currency=currency,
        number=number or f"RE-{key}", issue_date=issue, delivery_date=issue,
        buyer=Buyer(name="Erika Mustermann", company=company, vat_id=vat_id),
        billing_address=address, shipping_address=address,
        marketplace=Marketplace(id="ebay.de", country="DE"),
        references=References(order_id=f"ORD-{key}"), legal=legal or LegalNotes(),
        lines=built, **fields)


def make_target(emulator: Any, tmp: Path, *, renderer: Any = None, rate: float | None = None,
                http: Any = None, **config: Any) -> LexofficeTarget:
    """A target on `emulator`; `http` (a `syncd.http.HttpClients`) shares limiters as the
    engine's factory does, else the target gets a private one."""
    values = emulator.config(**config)
    if rate is not None:
        values["requests_per_second"] = rate
    cfg = LexofficeConfig.model_validate(values)
    context = ConnectorContext(plugin="lexoffice", data_dir=tmp, endpoint="lexoffice",
                               pipeline="test", renderer=renderer or TinyRenderer(), http=http)
    return LexofficeTarget(cfg, context)


def make_job(document: Document, *, steps: dict[str, StepResult] | None = None,
             options: LexofficeOptions | None = None, attachments: tuple = ()) -> Job:
    return Job(document=document, pipeline="test", target="lexoffice", options=options,
               steps=dict(steps or {}), attachments=attachments)


def deliver(target: LexofficeTarget, job: Job) -> Job:
    """Run every missing step of `job` as the engine would (without retries)."""
    for step in target.steps(job.document):
        if step not in job.steps:
            job = job.with_step(step, target.run_step(step, job))
    return job
