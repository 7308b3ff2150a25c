"""Which documents get an EN 16931 e-invoice beside their PDF, and that file.

From 2027 a German business must issue structured e-invoices to other German businesses
(§ 14 (1) UStG as amended by the Wachstumschancengesetz), so the default `einvoice = "auto"`
attaches one to every domestic B2B document; "zugferd" and "xrechnung" attach one to every
B2B document (the ZUGFeRD PDF also embeds it); "none" never does. Targets that take an
e-invoice file (Xentral's `eInvoice`, a lexoffice voucher file) ask `Renderer.einvoice`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from syncd.model import Document, DocumentKind, Seller
from syncd.render.cii import EN16931, XRECHNUNG, cii_xml
from syncd.render.taxcases import decide


@dataclass(frozen=True)
class EInvoiceFile:
    filename: str
    media_type: str
    data: bytes


def is_b2b(document: Document) -> bool:
    return bool(document.buyer.vat_id or document.buyer.company)


def wants_einvoice(document: Document, seller: Seller, mode: str) -> bool:
    if mode == "none" or document.kind is DocumentKind.ORDER or not is_b2b(document):
        return False
    if mode == "auto":
        decision = decide(document, seller)
        return decision.dispatch_country == "DE" and decision.destination_country == "DE"
    return True


def einvoice_file(document: Document, seller: Seller, mode: str,
                  language: str | None = None) -> EInvoiceFile | None:
    """The CII XML (XRechnung guideline in "xrechnung" mode, else EN 16931) or None."""
    if not wants_einvoice(document, seller, mode):
        return None
    guideline = XRECHNUNG if mode == "xrechnung" else EN16931
    xml = cii_xml(document, seller, guideline=guideline, language=language)
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", document.number or document.source_key)
    return EInvoiceFile(f"{name}.xml", "application/xml", xml)
