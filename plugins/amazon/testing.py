"""Helpers for tests of the Amazon plugin and for engine-level tests driving it.

`emulator_config(emulator, **overrides)` gives a validated AmazonConfig pointing at a running
AmazonEmulator with test-speed intervals; `context(tmp_path, renderer)` a ConnectorContext;
`HtmlPdfRenderer` renders a genuine (small) PDF with weasyprint showing the number and totals,
for tests that should not depend on the full renderer.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any, ClassVar

from syncd.connectors import ConnectorContext
from syncd.model import Document
from syncd.render import Renderer, RenderOptions
from syncd_amazon.config import AmazonConfig

FAST = {
    "report_poll_interval": "0.01s",
    "feed_poll_interval": "0.01s",
    "backoff_base": "0.01s",
    "backoff_max": "0.05s",
    "upload_settle": "0s",
}


COMPANY_TOML = """[company]
name = "Synthetic GmbH"
address = ["Musterweg 1"]
postal_code = "04103"
city = "Leipzig"
country = "DE"
vat_ids = { DE = "DE999999999", FR = "FR00999999999" }

[engine]
backoff_base = "0.05s"
backoff_max = "0.2s"

"""
"""A synthetic seller and fast retries: the head of a syncd.toml for engine tests."""


def emulator_config(emulator: Any, **overrides: Any) -> AmazonConfig:
    values = emulator.config_values(**FAST)
    values.update(overrides)
    return AmazonConfig.model_validate(values)


class HtmlPdfRenderer(Renderer):
    """A minimal weasyprint PDF: number, kind, totals and lines; counts its calls."""

    name: ClassVar[str] = "test-html-pdf"
    media_type: ClassVar[str] = "application/pdf"

    def __init__(self, options: RenderOptions | None = None, company: Any = None) -> None:
        super().__init__(options or RenderOptions(), company)
        self.rendered: list[Document] = []

    def render(self, document: Document) -> bytes:
        from weasyprint import HTML

        self.rendered.append(document)
        esc = html.escape
        rows = "".join(f"<tr><td>{esc(line.description)}</td><td>{line.gross}</td></tr>"
                       for line in document.lines)
        title = "Credit note" if document.kind.value == "credit_note" else "Invoice"
        original = (f"<p>Original invoice {esc(document.original_invoice_number)}</p>"
                    if document.original_invoice_number else "")
        page = (f"<h1>{title} {esc(document.number or '')}</h1>{original}"
                f"<table>{rows}</table><p>Total {document.totals.gross} {document.currency}, "
                f"VAT {document.totals.vat}</p>")
        return HTML(string=page).write_pdf()


def context(folder: Path, renderer: Renderer | None = None) -> ConnectorContext:
    return ConnectorContext(plugin="amazon", data_dir=folder, renderer=renderer)
