"""XRechnung: the CII XML alone, for buyers (often public bodies) who want no PDF."""

from __future__ import annotations

from collections.abc import Sequence

from syncd.errors import DocumentValidationError
from syncd.model import Document
from syncd.render import Renderer
from syncd.render.cii import XRECHNUNG, cii_xml
from syncd.render.language import choose_language


class XRechnungRenderer(Renderer):
    """XRechnung 3.0 CII XML; the same mapping as the XML inside a ZUGFeRD PDF."""

    name = "xrechnung"
    media_type = "application/xml"

    def render(self, document: Document) -> bytes:
        seller = document.seller or (self.company.seller if self.company else None)
        if seller is None:
            raise DocumentValidationError(document.identity, "seller",
                                          "no seller on the document and no [company] configured")
        language = choose_language(document, self.options.language)
        return cii_xml(document, seller, guideline=XRECHNUNG, language=language)

    def render_many(self, documents: Sequence[Document]) -> list[bytes]:
        return [self.render(d) for d in documents]
