"""The tax-case table: one place that decides a document's seller VAT ID, legal note and
EN 16931 VAT category, from where the goods left, where they went, who bought and what VAT was
charged. The PDF and the CII / XRechnung XML both read this decision, so they cannot disagree.

The legal basis of an exempt supply is the law of the country the goods are dispatched
*from* (the seller's VAT registration there), never the destination's: goods shipped from
Leipzig to a French business are exempt under § 4 Nr. 1 b i. V. m. § 6a UStG and carry the
German VAT ID, whatever language the invoice is printed in. See docs/rendering.md for the
table with its citations.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from syncd.model import Document, Seller

EU = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE",
    "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
})
UK_LOW_VALUE = Decimal(135)
"""GBP: consignments up to this value sold through an online marketplace are the
marketplace's supply for UK VAT (deemed supplier, VAT Act 1994 s. 5A)."""


class TaxCase(StrEnum):
    DOMESTIC = "domestic"
    """Taxed where dispatch and delivery are in the same country (B2C and B2B)."""
    DISTANCE_SALE = "distance_sale"
    """EU B2C (or B2B without a valid VAT ID) to another member state, taxed at the
    destination's rate (OSS, § 3c UStG)."""
    INTRA_EU = "intra_eu"
    """Exempt intra-Community supply of goods to a business with a VAT ID of another state."""
    REVERSE_CHARGE = "reverse_charge"
    """The recipient owes the VAT (services to EU businesses; domestic B2B supplies of a
    seller not established in the country of dispatch)."""
    EXPORT = "export"
    """Exempt export of goods out of the EU (CH, NO, UK above the low-value limit, …)."""
    UK_MARKETPLACE = "uk_marketplace"
    """UK consignment up to £135 sold through a marketplace: the marketplace accounts for
    the UK VAT; the seller's invoice carries none (not subject to VAT for the seller)."""


@dataclass(frozen=True)
class Citation:
    """The legal basis in the law of the country of dispatch, as its courts cite it."""

    intra_eu: str
    export: str
    reverse_charge: str


NATIONAL_LAW: dict[str, Citation] = {
    "DE": Citation("§ 4 Nr. 1 b i. V. m. § 6a UStG", "§ 4 Nr. 1 a i. V. m. § 6 UStG",
                   "§ 13b UStG"),
    "FR": Citation("article 262 ter I du CGI", "article 262 I du CGI", "article 283-1 du CGI"),
    "IT": Citation("art. 41 D.L. 331/1993", "art. 8 D.P.R. 633/1972",
                   "art. 17 c. 2 D.P.R. 633/1972"),
    "ES": Citation("art. 25 Ley 37/1992", "art. 21 Ley 37/1992",
                   "art. 84.Uno.2.º Ley 37/1992"),
    "PL": Citation("art. 42 ustawy o VAT", "art. 41 ust. 4 ustawy o VAT",
                   "art. 17 ust. 1 pkt 5 ustawy o VAT"),
}
"""Member states whose citation is known here; the others cite the VAT directive."""

DIRECTIVE: dict[str, Citation] = {
    "de": Citation("Art. 138 MwSt-Systemrichtlinie 2006/112/EG",
                   "Art. 146 MwSt-Systemrichtlinie 2006/112/EG",
                   "Art. 194, 196 MwSt-Systemrichtlinie 2006/112/EG"),
    "en": Citation("Art. 138 Directive 2006/112/EC", "Art. 146 Directive 2006/112/EC",
                   "Art. 194, 196 Directive 2006/112/EC"),
    "fr": Citation("article 138 de la directive 2006/112/CE",
                   "article 146 de la directive 2006/112/CE",
                   "articles 194 et 196 de la directive 2006/112/CE"),
    "it": Citation("art. 138 direttiva 2006/112/CE", "art. 146 direttiva 2006/112/CE",
                   "artt. 194 e 196 direttiva 2006/112/CE"),
    "es": Citation("art. 138 Directiva 2006/112/CE", "art. 146 Directiva 2006/112/CE",
                   "arts. 194 y 196 Directiva 2006/112/CE"),
}

CATEGORY = {
    TaxCase.DOMESTIC: "S", TaxCase.DISTANCE_SALE: "S", TaxCase.INTRA_EU: "K",
    TaxCase.REVERSE_CHARGE: "AE", TaxCase.EXPORT: "G", TaxCase.UK_MARKETPLACE: "O",
}
"""UNTDID 5305 code of a taxed line per case; a 0 % line in a taxed case is Z."""

EXEMPTION = {"K": "VATEX-EU-IC", "G": "VATEX-EU-G", "AE": "VATEX-EU-AE", "O": "VATEX-EU-O"}


@dataclass(frozen=True)
class TaxDecision:
    case: TaxCase
    dispatch_country: str
    destination_country: str | None
    seller_vat_id: str | None
    """The VAT ID printed for the seller; None where the case forbids one (category O)."""
    note: str | None
    """The key of the legal-note sentence (`syncd.render.translations.NOTES`), if any."""

    def category(self, rate: Decimal) -> str:
        code = CATEGORY[self.case]
        if code == "S" and rate == 0:
            return "Z"
        return code

    def basis(self, language: str) -> str:
        """The legal citation for this case in the dispatch country's law (or the directive)."""
        if self.note not in ("intra_eu", "export", "reverse_charge"):
            return ""  # the marketplace note cites no exemption
        cross_border = self.destination_country not in (None, self.dispatch_country)
        if self.case is TaxCase.REVERSE_CHARGE and cross_border:
            law = DIRECTIVE[language]  # a cross-border B2B service: Art. 196 of the directive
        else:
            law = NATIONAL_LAW.get(self.dispatch_country) or DIRECTIVE[language]
        return getattr(law, self.note)


def decide(document: Document, seller: Seller) -> TaxDecision:
    """The tax case of `document` sold by `seller`; see the module docstring for the rules."""
    dispatch = (document.ship_from_country or seller.address.country).upper()
    ship_to = document.shipping_address or document.billing_address
    destination = ship_to.country.upper() if ship_to else None
    charged = any(line.vat != 0 for line in document.lines)
    case = _case(document, dispatch, destination, charged, bool(document.buyer.vat_id))
    note = {TaxCase.INTRA_EU: "intra_eu", TaxCase.EXPORT: "export",
            TaxCase.REVERSE_CHARGE: "reverse_charge",
            TaxCase.UK_MARKETPLACE: "uk_marketplace"}.get(case)
    if case is TaxCase.UK_MARKETPLACE:
        vat_id = None if seller.tax_number else seller.vat_ids.get("GB")
    elif case is TaxCase.DISTANCE_SALE:
        # the registration the source's tax engine used (Pan-EU, or OSS at home), else
        # the seller's registration in the destination, else the one at dispatch
        vat_id = (_registered(seller, document.seller_vat_id)
                  or seller.vat_ids.get(destination or "")
                  or seller.vat_ids.get(dispatch) or seller.vat_id_for(None))
    else:
        vat_id = seller.vat_ids.get(dispatch) or _registered(seller, document.seller_vat_id) \
            or seller.vat_id_for(None)
    return TaxDecision(case, dispatch, destination, vat_id, note)


def _registered(seller: Seller, vat_id: str | None) -> str | None:
    if vat_id and vat_id.replace(" ", "") in {v.replace(" ", "") for v in
                                              seller.vat_ids.values()}:
        return vat_id
    return None


def _case(document: Document, dispatch: str, destination: str | None, charged: bool,
          business: bool) -> TaxCase:
    legal = document.legal
    if legal.reverse_charge and not legal.intra_eu and not charged:
        return TaxCase.REVERSE_CHARGE  # a service the source declared reverse charge
    if destination is None or destination == dispatch:
        if not charged and business and dispatch in EU and legal.reverse_charge:
            return TaxCase.REVERSE_CHARGE  # non-established seller, domestic B2B
        return TaxCase.DOMESTIC
    if charged:
        return TaxCase.DISTANCE_SALE  # taxed in the destination (OSS, or a registration there)
    if destination == "GB" and document.currency == "GBP" and not business \
            and document.totals.gross <= UK_LOW_VALUE and not legal.export:
        return TaxCase.UK_MARKETPLACE
    if destination not in EU:
        return TaxCase.EXPORT
    if business:
        return TaxCase.INTRA_EU
    return TaxCase.DISTANCE_SALE
