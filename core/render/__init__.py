"""Rendering documents into PDFs and e-invoices; the contract every renderer plugin follows."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

from syncd.connectors import Company
from syncd.model import Document, Seller

if TYPE_CHECKING:
    from syncd.render.einvoice import EInvoiceFile

EInvoice = Literal["auto", "none", "zugferd", "xrechnung"]
"""auto (default): an e-invoice for domestic B2B documents; see syncd.render.einvoice."""


@dataclass(frozen=True)
class RenderOptions:
    """Per-pipeline choices: language override, e-invoice mode, template folder, logo, footer."""

    language: str | None = None
    einvoice: EInvoice = "auto"
    templates: Path | None = None
    logo: str | None = None
    footer: str | None = None


class Renderer(ABC):
    """Turns documents into bytes of one media type. Registered via `register_renderers`."""

    name: ClassVar[str]
    media_type: ClassVar[str]

    def __init__(self, options: RenderOptions, company: Company | None = None) -> None:
        self.options = options
        self.company = company

    @abstractmethod
    def render(self, document: Document) -> bytes:
        """One standalone file for `document` (which already carries its number)."""

    def render_many(self, documents: Sequence[Document]) -> list[bytes]:
        """Many files at once; renderers override this where batching is faster."""
        return [self.render(d) for d in documents]

    def wants_einvoice(self, document: Document) -> bool:
        """Whether this pipeline's `einvoice` mode gives `document` an e-invoice file (cheap:
        the tax-case decision only, no XML), so a target can plan its steps before rendering."""
        from syncd.render.einvoice import wants_einvoice

        seller = self._einvoice_seller(document)
        return seller is not None and wants_einvoice(document, seller, self.options.einvoice)

    def einvoice(self, document: Document) -> EInvoiceFile | None:
        """The EN 16931 e-invoice XML to attach beside the PDF, when this pipeline's
        `einvoice` mode and the document call for one (B2B; see syncd.render.einvoice)."""
        from syncd.render.einvoice import einvoice_file
        from syncd.render.language import choose_language

        seller = self._einvoice_seller(document)
        if seller is None:
            return None
        return einvoice_file(document, seller, self.options.einvoice,
                             choose_language(document, self.options.language))

    def _einvoice_seller(self, document: Document) -> Seller | None:
        return document.seller or (self.company.seller if self.company else None)
