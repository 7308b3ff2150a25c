"""UN/CEFACT CII (D16B) XML of a Document: Factur-X/ZUGFeRD EN 16931 profile and XRechnung.

Mapping choices, each forced by an EN 16931 business rule:
- Credit notes are type 381 with positive amounts (the model's convention already) and name
  the corrected invoice in InvoiceReferencedDocument (BT-25/BT-26).
- Promotions (negative promotion lines) become document-level allowances with their own VAT
  category, because item prices must not be negative (BR-27). Other negative lines get a
  negative quantity and a positive price.
- A unit price that would need more than four decimals is stated per the line's quantity
  (BasisQuantity) so that quantity x price reproduces the line amount exactly.
- VAT category: S for a positive rate, else AE (reverse charge), K (intra-EU supply),
  G (export), O (UK marketplace VAT) or Z (zero rated), decided by `syncd.render.taxcases`,
  with the VATEX exemption codes for AE/K/G/O.
- Marketplace orders are paid at checkout: the whole gross amount is prepaid and nothing is
  due. Other documents are due in full with the printed payment terms (BR-CO-25).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from lxml import etree

from syncd.errors import DocumentValidationError
from syncd.model import Address, Document, DocumentKind, Line, LineKind, Seller
from syncd.render.language import choose_language
from syncd.render.taxcases import TaxCase, decide
from syncd.render.view import legal_notes

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
NSMAP = {"rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT}

EN16931 = "urn:cen.eu:en16931:2017"
XRECHNUNG = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
PEPPOL_BILLING = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"

CENT = Decimal("0.01")
PRICE_PLACES = Decimal("0.0001")

EXEMPTIONS: dict[str, tuple[str, str]] = {
    "AE": ("VATEX-EU-AE", "Reverse charge"),
    "K": ("VATEX-EU-IC", "Intra-Community supply"),
    "G": ("VATEX-EU-G", "Export outside the EU"),
    "O": ("VATEX-EU-O", "Not subject to VAT"),
}

PAYMENT_TERMS = {
    "de": "Zahlbar sofort ohne Abzug.",
    "en": "Payable immediately without deduction.",
    "fr": "Payable à réception, sans escompte.",
    "it": "Pagamento immediato senza detrazioni.",
    "es": "Pago inmediato sin descuento.",
}


def _amount(value: Decimal) -> str:
    return str(value.quantize(CENT))


def _percent(rate: Decimal) -> str:
    return str((rate * 100).quantize(CENT))


def _date102(value: date) -> str:
    return value.strftime("%Y%m%d")


def is_allowance(line: Line) -> bool:
    return line.kind is LineKind.PROMOTION and line.net < 0


@dataclass
class _Builder:
    """Tiny helper over lxml: `add(parent, "ram:Name", text, **attrs)`."""

    def add(self, parent: etree._Element, tag: str, text: str | None = None,
            **attrs: str) -> etree._Element:
        prefix, local = tag.split(":")
        element = etree.SubElement(parent, f"{{{NSMAP[prefix]}}}{local}", attrs)
        if text is not None:
            element.text = text
        return element

    def date(self, parent: etree._Element, tag: str, value: date) -> None:
        holder = self.add(parent, tag)
        self.add(holder, "udt:DateTimeString", _date102(value), format="102")


def _address(b: _Builder, parent: etree._Element, address: Address) -> None:
    node = b.add(parent, "ram:PostalTradeAddress")
    if address.postal_code:
        b.add(node, "ram:PostcodeCode", address.postal_code)
    lines = [x for x in address.lines if x]
    for tag, text in zip(("ram:LineOne", "ram:LineTwo"), lines, strict=False):
        b.add(node, tag, text)
    if len(lines) > 2:
        b.add(node, "ram:LineThree", ", ".join(lines[2:]))
    if address.city:
        b.add(node, "ram:CityName", address.city)
    b.add(node, "ram:CountryID", address.country.upper())
    if address.state:
        b.add(node, "ram:CountrySubDivisionName", address.state)


def _tax(b: _Builder, parent: etree._Element, tag: str, cat: str, rate: Decimal,
         basis: Decimal | None = None, amount: Decimal | None = None,
         currency: str | None = None) -> None:
    node = b.add(parent, tag)
    if amount is not None:
        b.add(node, "ram:CalculatedAmount", _amount(amount))
    b.add(node, "ram:TypeCode", "VAT")
    exemption = EXEMPTIONS.get(cat)
    if exemption and basis is not None:
        b.add(node, "ram:ExemptionReason", exemption[1])
    if basis is not None:
        b.add(node, "ram:BasisAmount", _amount(basis))
    b.add(node, "ram:CategoryCode", cat)
    if exemption and basis is not None:
        b.add(node, "ram:ExemptionReasonCode", exemption[0])
    if cat != "O":  # "not subject to VAT" carries no rate (BR-O-05)
        b.add(node, "ram:RateApplicablePercent", _percent(rate))


def _price(line: Line) -> tuple[Decimal, Decimal, Decimal | None]:
    """(billed quantity, unit price >= 0, basis quantity or None) reproducing the line net."""
    quantity = line.quantity if line.quantity != 0 else Decimal(1)
    magnitude = abs(quantity)
    billed = -magnitude if line.net < 0 else magnitude
    unit = abs(line.net) / magnitude
    if unit == unit.quantize(PRICE_PLACES):
        return billed, unit.quantize(PRICE_PLACES).normalize(), None
    return billed, abs(line.net), magnitude


def _buyer_name(document: Document) -> str:
    address = document.billing_address
    for name in (document.buyer.company, document.buyer.name,
                 address.company if address else None, address.name if address else None):
        if name:
            return name
    raise DocumentValidationError(document.identity, "buyer.name",
                                  "an e-invoice needs the buyer's name (BT-44)")




def cii_xml(
    document: Document,
    seller: Seller,
    *,
    guideline: str = EN16931,
    language: str | None = None,
) -> bytes:
    """The CII XML of `document` (UTF-8 bytes with declaration)."""
    if not document.number or document.issue_date is None:
        raise DocumentValidationError(document.identity, "number" if not document.number
                                      else "issue_date", "an e-invoice needs number and date")
    if document.kind is DocumentKind.ORDER:
        raise DocumentValidationError(document.identity, "kind",
                                      "orders have no e-invoice representation")
    language = language or choose_language(document)
    xrechnung = guideline == XRECHNUNG
    credit = document.kind is DocumentKind.CREDIT_NOTE
    cur = document.currency
    b = _Builder()
    decision = decide(document, seller)  # the same tax case the PDF prints

    root = etree.Element(f"{{{RSM}}}CrossIndustryInvoice", nsmap=NSMAP)
    ctx = b.add(root, "rsm:ExchangedDocumentContext")
    if xrechnung:
        b.add(b.add(ctx, "ram:BusinessProcessSpecifiedDocumentContextParameter"), "ram:ID",
              PEPPOL_BILLING)
    b.add(b.add(ctx, "ram:GuidelineSpecifiedDocumentContextParameter"), "ram:ID", guideline)

    head = b.add(root, "rsm:ExchangedDocument")
    b.add(head, "ram:ID", document.number)
    b.add(head, "ram:TypeCode", "381" if credit else "380")
    b.date(head, "ram:IssueDateTime", document.issue_date)
    for text in legal_notes(document, decision, language):
        note = b.add(head, "ram:IncludedNote")
        b.add(note, "ram:Content", text)
        b.add(note, "ram:SubjectCode", "TXD")

    trade = b.add(root, "rsm:SupplyChainTradeTransaction")
    allowances: list[Line] = []
    line_total = Decimal(0)
    position = 0
    for line in document.lines:
        if is_allowance(line):
            allowances.append(line)
            continue
        position += 1
        line_total += line.net
        item = b.add(trade, "ram:IncludedSupplyChainTradeLineItem")
        b.add(b.add(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", str(position))
        product = b.add(item, "ram:SpecifiedTradeProduct")
        if line.sku:
            b.add(product, "ram:SellerAssignedID", line.sku)
        b.add(product, "ram:Name", line.description)
        billed, unit, basis = _price(line)
        agreement = b.add(item, "ram:SpecifiedLineTradeAgreement")
        price = b.add(agreement, "ram:NetPriceProductTradePrice")
        b.add(price, "ram:ChargeAmount", f"{unit:f}")  # never "1E+2" (xs:decimal)
        if basis is not None:
            b.add(price, "ram:BasisQuantity", f"{basis:f}", unitCode="C62")
        delivery = b.add(item, "ram:SpecifiedLineTradeDelivery")
        b.add(delivery, "ram:BilledQuantity", f"{billed:f}", unitCode="C62")
        settlement = b.add(item, "ram:SpecifiedLineTradeSettlement")
        _tax(b, settlement, "ram:ApplicableTradeTax", decision.category(line.vat_rate),
             line.vat_rate)
        summation = b.add(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation")
        b.add(summation, "ram:LineTotalAmount", _amount(line.net))
    if position == 0:
        raise DocumentValidationError(document.identity, "lines",
                                      "an e-invoice needs at least one line that is no discount")

    agreement = b.add(trade, "ram:ApplicableHeaderTradeAgreement")
    refs = document.references
    buyer_reference = refs.purchase_order_number or refs.order_id
    if buyer_reference:
        b.add(agreement, "ram:BuyerReference", buyer_reference)
    elif xrechnung:
        b.add(agreement, "ram:BuyerReference", document.number)
    _seller(b, agreement, document, seller, decision.seller_vat_id)
    buyer = b.add(agreement, "ram:BuyerTradeParty")
    b.add(buyer, "ram:Name", _buyer_name(document))
    address = document.billing_address or document.shipping_address
    if address is None:
        raise DocumentValidationError(document.identity, "billing_address",
                                      "an e-invoice needs the buyer's address (BG-8)")
    _address(b, buyer, address)
    if document.buyer.email:
        b.add(b.add(buyer, "ram:URIUniversalCommunication"), "ram:URIID",
              document.buyer.email, schemeID="EM")
    if document.buyer.vat_id and decision.case is not TaxCase.UK_MARKETPLACE:  # BR-O-02
        b.add(b.add(buyer, "ram:SpecifiedTaxRegistration"), "ram:ID", document.buyer.vat_id,
              schemeID="VA")
    if refs.order_id:
        b.add(b.add(agreement, "ram:SellerOrderReferencedDocument"), "ram:IssuerAssignedID",
              refs.order_id)
    if refs.purchase_order_number:
        b.add(b.add(agreement, "ram:BuyerOrderReferencedDocument"), "ram:IssuerAssignedID",
              refs.purchase_order_number)

    delivery = b.add(trade, "ram:ApplicableHeaderTradeDelivery")
    # the deliver-to country is mandatory for intra-EU supplies (BR-IC-12)
    deliver_to = document.shipping_address or (
        document.billing_address if decision.case is TaxCase.INTRA_EU else None)
    if deliver_to is not None:
        ship_to = b.add(delivery, "ram:ShipToTradeParty")
        name = deliver_to.company or deliver_to.name
        if name:
            b.add(ship_to, "ram:Name", name)
        _address(b, ship_to, deliver_to)
    event = b.add(delivery, "ram:ActualDeliverySupplyChainEvent")
    b.date(event, "ram:OccurrenceDateTime", document.delivery_date or document.issue_date)
    if refs.shipping_id:
        b.add(b.add(delivery, "ram:DespatchAdviceReferencedDocument"), "ram:IssuerAssignedID",
              refs.shipping_id)

    settlement = b.add(trade, "ram:ApplicableHeaderTradeSettlement")
    b.add(settlement, "ram:InvoiceCurrencyCode", cur)
    prepaid = document.marketplace is not None
    if xrechnung:
        means = b.add(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
        b.add(means, "ram:TypeCode", "ZZZ" if prepaid else "1")
    for row in document.vat_breakdown:
        _tax(b, settlement, "ram:ApplicableTradeTax", decision.category(row.rate),
             row.rate, basis=row.net, amount=row.vat)
    allowance_total = Decimal(0)
    for line in allowances:
        allowance_total += -line.net
        node = b.add(settlement, "ram:SpecifiedTradeAllowanceCharge")
        indicator = b.add(node, "ram:ChargeIndicator")
        b.add(indicator, "udt:Indicator", "false")
        b.add(node, "ram:ActualAmount", _amount(-line.net))
        b.add(node, "ram:Reason", line.description)
        _tax(b, node, "ram:CategoryTradeTax", decision.category(line.vat_rate),
             line.vat_rate)
    if not prepaid:
        terms = b.add(settlement, "ram:SpecifiedTradePaymentTerms")
        b.add(terms, "ram:Description", PAYMENT_TERMS[language])
    totals = document.totals
    summation = b.add(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    b.add(summation, "ram:LineTotalAmount", _amount(line_total))
    if allowances:
        b.add(summation, "ram:ChargeTotalAmount", _amount(Decimal(0)))
        b.add(summation, "ram:AllowanceTotalAmount", _amount(allowance_total))
    b.add(summation, "ram:TaxBasisTotalAmount", _amount(totals.net))
    b.add(summation, "ram:TaxTotalAmount", _amount(totals.vat), currencyID=cur)
    b.add(summation, "ram:GrandTotalAmount", _amount(totals.gross))
    if prepaid:
        b.add(summation, "ram:TotalPrepaidAmount", _amount(totals.gross))
    b.add(summation, "ram:DuePayableAmount", _amount(Decimal(0) if prepaid else totals.gross))
    if credit and document.original_invoice_number:
        ref = b.add(settlement, "ram:InvoiceReferencedDocument")
        b.add(ref, "ram:IssuerAssignedID", document.original_invoice_number)
        if document.original_invoice_date:
            holder = b.add(ref, "ram:FormattedIssueDateTime")
            b.add(holder, "qdt:DateTimeString", _date102(document.original_invoice_date),
                  format="102")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _seller(b: _Builder, agreement: etree._Element, document: Document, seller: Seller,
            vat_id: str | None) -> None:
    node = b.add(agreement, "ram:SellerTradeParty")
    if not vat_id and seller.tax_number:
        # without a VAT ID (category O) the buyer still needs a seller identifier (BR-CO-26)
        b.add(node, "ram:ID", seller.tax_number)
    b.add(node, "ram:Name", seller.name)
    if seller.email or seller.phone:
        contact = b.add(node, "ram:DefinedTradeContact")
        b.add(contact, "ram:PersonName", seller.name)
        if seller.phone:
            b.add(b.add(contact, "ram:TelephoneUniversalCommunication"), "ram:CompleteNumber",
                  seller.phone)
        if seller.email:
            b.add(b.add(contact, "ram:EmailURIUniversalCommunication"), "ram:URIID",
                  seller.email)
    _address(b, node, seller.address)
    if seller.email:
        b.add(b.add(node, "ram:URIUniversalCommunication"), "ram:URIID", seller.email,
              schemeID="EM")
    if vat_id:
        b.add(b.add(node, "ram:SpecifiedTaxRegistration"), "ram:ID", vat_id, schemeID="VA")
    if seller.tax_number:
        b.add(b.add(node, "ram:SpecifiedTaxRegistration"), "ram:ID", seller.tax_number,
              schemeID="FC")
    if not vat_id and not seller.tax_number:
        raise DocumentValidationError(document.identity, "seller.vat_ids",
                                      "the seller needs a VAT ID or tax number (BR-CO-26)")

