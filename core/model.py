"""The canonical accounting document every connector reads or writes.

Immutable pydantic models with a JSON round-trip. Money is `Decimal` to the cent (floats are
refused), the currency lives on the document, and a document whose lines, VAT breakdown and
totals disagree by a single cent cannot be constructed.

Sign convention: amounts are what the document states. A credit note carries positive amounts
(what is credited back); promotions and discounts are negative lines on either kind.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Any

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    model_serializer,
    model_validator,
)

from syncd.amounts import check_amounts, sums_per_rate

CENT = Decimal("0.01")


def _refuse_float(value: Any) -> Any:
    if isinstance(value, float):
        raise ValueError("money must be a Decimal or a string, never a float")
    return value


def _to_the_cent(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("money must be a finite number")
    cents = value.quantize(CENT)
    if value != cents:
        raise ValueError(f"{value} has more than two decimal places")
    return cents


def _rate(value: Decimal) -> Decimal:
    if not value.is_finite() or not Decimal(0) <= value < Decimal(1):
        raise ValueError(f"VAT rate {value} must be a fraction in [0, 1), e.g. 0.19")
    return value


Money = Annotated[Decimal, BeforeValidator(_refuse_float), AfterValidator(_to_the_cent)]
"""An amount to the cent, in the document's currency."""

Rate = Annotated[Decimal, BeforeValidator(_refuse_float), AfterValidator(_rate)]
"""A VAT rate as a fraction: 0.19 is 19 %."""

Quantity = Annotated[Decimal, BeforeValidator(_refuse_float)]


class Frozen(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        ser_json_bytes="base64",
        val_json_bytes="base64",
    )


class DocumentKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    ORDER = "order"


class LineKind(StrEnum):
    ITEM = "item"
    SHIPPING = "shipping"
    GIFT_WRAP = "gift_wrap"
    PROMOTION = "promotion"
    """A discount; negative amounts. `promotion_for` says what it reduces."""


class Fulfilment(StrEnum):
    FBA = "FBA"
    FBM = "FBM"


class Address(Frozen):
    name: str | None = None
    company: str | None = None
    lines: tuple[str, ...] = ()
    postal_code: str | None = None
    city: str | None = None
    state: str | None = None
    country: str = Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2")
    phone: str | None = None


class Seller(Frozen):
    name: str
    address: Address
    vat_ids: dict[str, str] = Field(default_factory=dict, description="VAT ID per country code")
    tax_number: str | None = None
    email: str | None = None
    phone: str | None = None
    website: str | None = None

    def vat_id_for(self, country: str | None) -> str | None:
        """The VAT ID registered in `country`, else the one of the seat's country."""
        if country and country in self.vat_ids:
            return self.vat_ids[country]
        return self.vat_ids.get(self.address.country) or next(iter(self.vat_ids.values()), None)


class Buyer(Frozen):
    name: str | None = None
    company: str | None = None
    vat_id: str | None = None
    email: str | None = None
    tax_registration_type: str | None = None


class Marketplace(Frozen):
    id: str
    country: str | None = None
    name: str | None = Field(default=None, description="Printed name, e.g. 'Amazon.de'")


class References(Frozen):
    order_id: str | None = None
    shipping_id: str | None = None
    transaction_id: str | None = None
    purchase_order_number: str | None = None


class LegalNotes(Frozen):
    reverse_charge: bool = False
    intra_eu: bool = False
    export: bool = False
    citations: dict[str, str] = Field(
        default_factory=dict, description="Legal citation text per language code (de, en, …)"
    )


STORED: Mapping[str, bool] = MappingProxyType({"stored": True})
"""Validation context of bodies read back from the store (see Document.from_stored)."""

NO_BUYER = Buyer()
NO_REFERENCES = References()
"""Shared empty defaults (immutable, so one instance serves every document)."""


class AttachmentRole(StrEnum):
    PDF = "pdf"
    """The human-readable document (invoice PDF)."""
    EINVOICE = "einvoice"
    """A structured e-invoice (XRechnung / Factur-X XML)."""
    OTHER = "other"


class Attachment(Frozen):
    """A PDF or XML that travels with the document, *by reference*.

    A source gives either `data` (inline bytes: the engine moves them into its content-addressed
    attachment store at ingest and keeps only `sha256` and `size` in the stored document), or
    `url` (fetched lazily with `Source.fetch_attachment` as its own retried step before any
    target sees the document). Targets read the bytes through `Job.attachments`, never here.
    """

    filename: str
    media_type: str
    role: AttachmentRole = AttachmentRole.PDF
    data: bytes | None = None
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    size: int | None = Field(default=None, ge=0)
    url: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Attachment:
        if self.data is not None and (self.sha256 is not None or self.url is not None):
            raise ValueError("an attachment with inline data has no sha256 or url")
        if self.data is None and self.sha256 is None and self.url is None:
            raise ValueError("an attachment needs data, a sha256 reference or a url")
        return self


class LinkKind(StrEnum):
    INVOICE = "invoice"
    """A credit note's original invoice."""
    ORDER = "order"
    """An invoice's (or credit note's) order document."""


class LinkMatch(Frozen):
    """Names a linked document by references, for a source that does not know its key.

    By `shipping_id` (an Amazon return knows its shipment, not the key of the shipment's
    invoice): the first received document of the same source and the link's kind with that
    shipping id (and `order_id`, when given); until one arrives the link waits for it.
    By `order_id` alone (an Amainvoice refund whose rows name no invoice): the one document of
    that kind for the order; none or several (a split shipment) give no link and nothing to
    wait for, since the order's invoice may predate the source's start date.
    Resolved by the engine when the delivery is claimed.
    """

    shipping_id: str | None = Field(default=None, min_length=1, max_length=200)
    order_id: str | None = Field(default=None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _names_a_reference(self) -> LinkMatch:
        if self.shipping_id is None and self.order_id is None:
            raise ValueError("a link match names a shipping_id, an order_id or both")
        return self


class Link(Frozen):
    """A reference to another document of the same source (or of `source`).

    The linked document is named by its `source_key` or, when the source knows only its
    references, by `match` (exactly one of the two). When `required`, the engine delivers
    this document to a target only after the linked document's delivery to the same target
    is `done` (waiting costs no retry attempt), and the target finds the linked number, date
    and remote id in `Job.links[kind]`.
    """

    kind: LinkKind
    source_key: str | None = None
    source: str | None = None
    required: bool = True
    match: LinkMatch | None = None
    """Left out of the JSON when None, so documents linked by key keep their content hash."""

    @model_validator(mode="after")
    def _names_one_document(self) -> Link:
        if (self.source_key is None) == (self.match is None):
            raise ValueError("a link names its document by source_key or by match, "
                             "exactly one of them")
        return self

    @model_serializer(mode="wrap")
    def _without_unset_match(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if self.match is None and isinstance(data, dict):
            data.pop("match", None)
        return data


class Line(Frozen):
    kind: LineKind = LineKind.ITEM
    description: str
    quantity: Quantity = Decimal(1)
    sku: str | None = None
    asin: str | None = None
    order_id: str | None = None
    promotion_id: str | None = None
    promotion_for: LineKind | None = None
    net: Money
    vat_rate: Rate
    vat: Money
    gross: Money


class VatBreakdown(Frozen):
    rate: Rate
    net: Money
    vat: Money
    gross: Money


class Totals(Frozen):
    net: Money
    vat: Money
    gross: Money


class Document(Frozen):
    """One invoice, credit note or order, as every connector sees it."""

    kind: DocumentKind
    source: str = Field(description="The system the document came from, e.g. 'amazon'")
    source_key: str = Field(description="Stable identity within the source")
    currency: str = Field(pattern=r"^[A-Z]{3}$")

    number: str | None = Field(default=None, description="Allocated by the engine when empty")
    original_invoice_number: str | None = None
    original_invoice_date: date | None = None

    issue_date: date | None = None
    delivery_date: date | None = None
    order_date: date | None = None

    seller: Seller | None = None
    seller_vat_id: str | None = Field(
        default=None, description="The seller VAT ID the source's tax engine used, if any")
    ship_from_country: str | None = Field(
        default=None, min_length=2, max_length=2,
        description="Where the goods left from (decides the tax case; default: the seat)")
    # factories, not instances: pydantic deep-copies a model default on every construction
    buyer: Buyer = Field(default_factory=lambda: NO_BUYER)
    billing_address: Address | None = None
    shipping_address: Address | None = None

    marketplace: Marketplace | None = None
    fulfilment: Fulfilment | None = None
    references: References = Field(default_factory=lambda: NO_REFERENCES)

    lines: tuple[Line, ...]
    vat_breakdown: tuple[VatBreakdown, ...]
    totals: Totals

    legal: LegalNotes = Field(default_factory=LegalNotes)
    language: str | None = Field(default=None, description="Forces the rendering language")
    attachments: tuple[Attachment, ...] = ()
    links: tuple[Link, ...] = ()
    extra: dict[str, str] = Field(
        default_factory=dict, description="Source fields syncd has no slot for, kept verbatim"
    )

    @property
    def identity(self) -> str:
        return f"{self.source}:{self.source_key}"

    @model_validator(mode="after")
    def _agrees_to_the_cent(self, info: ValidationInfo) -> Document:
        if info.context is not STORED:  # a stored body was checked before it was stored
            check_amounts(self)
        return self

    @classmethod
    def from_stored(cls, body: str) -> Document:
        """A body the store wrote: the schema is validated again (the model may have
        changed since), the amounts were checked before the body was stored."""
        return cls.model_validate_json(body, context=STORED)

    def canonical_json(self) -> str:
        """Sorted, compact JSON of the content: what the content hash covers.

        The number is left out because the engine allocates it after the document is stored.
        Byte for byte `json.dumps(…, sort_keys=True, separators=(",", ":"),
        ensure_ascii=False)` (stored hashes depend on it), written by orjson for speed.
        """
        return self._canonical_bytes().decode()

    def _canonical_bytes(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json", exclude={"number"}),
                            option=orjson.OPT_SORT_KEYS)

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self._canonical_bytes()).hexdigest()

    def link(self, kind: LinkKind) -> Link | None:
        return next((link for link in self.links if link.kind is kind), None)

    def with_number(self, number: str, issue_date: date | None = None) -> Document:
        update: dict[str, Any] = {"number": number}
        if issue_date is not None and self.issue_date is None:
            update["issue_date"] = issue_date
        return self.model_copy(update=update)


def breakdown_of(lines: Iterable[Line]) -> tuple[VatBreakdown, ...]:
    """The VAT breakdown per rate that `lines` add up to, highest rate first."""
    return tuple(
        VatBreakdown(rate=rate, net=net, vat=vat, gross=gross)
        for rate, (net, vat, gross) in sorted(sums_per_rate(lines).items(), reverse=True)
    )


def totals_of(breakdown: Iterable[VatBreakdown]) -> Totals:
    rows = list(breakdown)
    return Totals(
        net=sum((r.net for r in rows), Decimal(0)),
        vat=sum((r.vat for r in rows), Decimal(0)),
        gross=sum((r.gross for r in rows), Decimal(0)),
    )


def build_document(*, lines: Iterable[Line], **fields: Any) -> Document:
    """A Document whose breakdown and totals are computed from its lines."""
    lines = tuple(lines)
    breakdown = breakdown_of(lines)
    return Document(lines=lines, vat_breakdown=breakdown, totals=totals_of(breakdown), **fields)
