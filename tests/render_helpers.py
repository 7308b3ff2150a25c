"""Helpers shared by the render tests: PDF text via pypdf, XML paths in the CII namespaces."""

from __future__ import annotations

import io

import pypdf
from lxml import etree

from syncd.render.cii import NSMAP


def pdf_text(pdf: bytes) -> str:
    """All text of a PDF, pages joined, whitespace runs folded to single spaces."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return " ".join(text.split())


def page_count(pdf: bytes) -> int:
    return len(pypdf.PdfReader(io.BytesIO(pdf)).pages)


def xpath(xml: bytes, path: str) -> list[str]:
    """Texts (or attribute values) at `path` in a CII document."""
    found = etree.fromstring(xml).xpath(path, namespaces=NSMAP)
    return [x if isinstance(x, str) else (x.text or "") for x in found]
