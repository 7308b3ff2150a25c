"""Rendering documents into PDFs and e-invoices; the contract every renderer plugin follows."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

from syncd.connectors import Company
from syncd.model import Document

EInvoice = Literal["none", "zugferd", "xrechnung"]


@dataclass(frozen=True)
class RenderOptions:
    """Per-pipeline choices: language override, e-invoice mode, template folder, logo, footer."""

    language: str | None = None
    einvoice: EInvoice = "none"
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
