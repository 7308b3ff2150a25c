"""Streaming reader of Amazon's VAT Invoice Data Report (flat file, tab-separated).

The reader never holds more than one line: it decodes line by line (charset from the HTTP
Content-Type, cp1252 when a line is not valid in it, BOM stripped), maps fields by header name
and keeps columns it does not know. A line with the wrong number of fields becomes a `BadLine`
naming its line number, so one garbage line never stops the rest of the report.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from email.message import Message
from typing import BinaryIO

from syncd.errors import InputError

COLUMNS: tuple[str, ...] = (
    "marketplace-id", "order-id", "order-item-id", "shipping-id", "transaction-id",
    "transaction-type", "invoice-number", "invoice-status", "invoice-status-description",
    "is-amazon-invoiced", "order-date", "shipment-date", "buyer-vat-number", "seller-vat-number",
    "asin", "sku", "product-name", "quantity-purchased", "currency", "item-vat-incl-amount",
    "item-vat-amount", "item-vat-excl-amount", "item-vat-rate", "item-promo-vat-incl-amount",
    "item-promo-vat-excl-amount", "item-promo-vat-amount", "item-promo-vat-rate",
    "item-promotion-id", "gift-wrap-vat-incl-amount", "gift-wrap-vat-amount",
    "gift-wrap-vat-excl-amount", "gift-wrap-vat-rate", "gift-promo-vat-incl-amount",
    "gift-promo-vat-excl-amount", "gift-promo-vat-amount", "gift-promo-vat-rate",
    "gift-promotion-id", "shipping-vat-incl-amount", "shipping-vat-amount",
    "shipping-vat-excl-amount", "shipping-vat-rate", "shipping-promo-vat-incl-amount",
    "shipping-promo-vat-excl-amount", "shipping-promo-vat-amount", "shipping-promo-vat-rate",
    "ship-promotion-id", "is-business-order", "price-designation", "purchase-order-number",
    "recipient-name", "ship-service-level", "fulfilled-by", "ship-address-1", "ship-address-2",
    "ship-address-3", "ship-city", "ship-state", "ship-postal-code", "ship-country",
    "ship-phone-number", "ship-from-country", "ship-from-state", "ship-from-city",
    "ship-from-postal-code", "billing-name", "bill-address-1", "bill-address-2",
    "bill-address-3", "bill-city", "bill-state", "bill-postal-code", "bill-country",
    "billing-phone-number", "buyer-name", "buyer-company-name", "legacy-customer-order-item-id",
    "recommended-invoice-format", "buyer-tax-registration-type", "buyer-e-invoice-account-id",
    "is-buyer-physically-present", "is-seller-physically-present", "citation-es", "citation-it",
    "citation-fr", "citation-de", "citation-en", "export-outside-eu", "is-invoice-corrected",
    "original-vat-invoice-number", "invoice-correction-details",
)
"""The documented columns in documented order; newer files may add more."""

KNOWN = frozenset(COLUMNS)

REQUIRED: tuple[str, ...] = (
    "marketplace-id", "order-id", "shipping-id", "transaction-id", "transaction-type",
    "invoice-status", "is-amazon-invoiced", "shipment-date", "quantity-purchased", "currency",
    "item-vat-incl-amount", "item-vat-amount", "item-vat-excl-amount", "item-vat-rate",
)
"""Without these a document cannot be built; every other column defaults to empty."""

BOM = "\ufeff"
FALLBACK_CHARSET = "cp1252"


def charset_of(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header, if any."""
    if not content_type:
        return None
    msg = Message()
    msg["content-type"] = content_type
    charset = msg.get_param("charset")
    return str(charset) if isinstance(charset, str) and charset else None


@dataclass(frozen=True, slots=True)
class VidrRow:
    """One report line: values by (lower-case) header name, plus where it came from.

    `text` is the decoded line as read, so grouping can spill it without re-joining fields.
    """

    line: int
    values: dict[str, str]
    text: str = ""

    def get(self, column: str) -> str:
        return self.values.get(column, "")


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that could not be split into the header's columns."""

    line: int
    message: str
    raw: str
    shipping_id: str | None = None


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        value = value[1:-1].replace('""', '"')
    return value


def split_fields(text: str) -> list[str]:
    """Tab-separated fields, stripped, one pair of surrounding double quotes removed."""
    fields = text.split("\t")
    if '"' in text:
        return [_unquote(f) for f in fields]
    if " \t" in text or "\t " in text or text[:1].isspace() or text[-1:].isspace():
        return list(map(str.strip, fields))
    return fields  # the common case: nothing to strip


class VidrReader:
    """Iterate a VIDR byte stream as `VidrRow` / `BadLine` items in file order."""

    def __init__(self, stream: BinaryIO | Iterable[bytes], *, name: str = "VIDR",
                 charset: str | None = None) -> None:
        self.name = name
        self.charset = charset or "utf-8"
        self._lines = iter(stream)
        self.fallback_lines = 0
        self.header = self._read_header()
        missing = [c for c in REQUIRED if c not in self.header]
        if missing:
            raise InputError(
                f"{name}: line 1 (header)", "missing required columns: " + ", ".join(missing)
                + "; refused as a whole")
        self.unknown_columns = [c for c in self.header if c not in KNOWN]
        self._shipping_index = self.header.index("shipping-id")

    def _decode(self, raw: bytes) -> str:
        try:
            text = raw.decode(self.charset)
        except (UnicodeDecodeError, LookupError):
            self.fallback_lines += 1
            text = raw.decode(FALLBACK_CHARSET, errors="replace")
        return text.rstrip("\r\n")

    def _read_header(self) -> list[str]:
        for raw in self._lines:
            if raw[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in raw:
                raise InputError(f"{self.name}: line 1 (header)",
                                 "the report is UTF-16 encoded (byte-order mark or NUL bytes); "
                                 "a VIDR is UTF-8 or cp1252, so it is refused as a whole")
            text = self._decode(raw).lstrip(BOM)
            if text.strip():
                header = [_unquote(c).lower() for c in text.split("\t")]
                dupes = sorted({c for c in header if header.count(c) > 1})
                if dupes:
                    raise InputError(f"{self.name}: line 1 (header)",
                                     "duplicate columns: " + ", ".join(dupes))
                return header
        raise InputError(self.name, "the report is empty (0 bytes or blank lines, no header "
                                    "line); refused as a whole")

    def __iter__(self) -> Iterator[VidrRow | BadLine]:
        header = self.header
        width = len(header)
        for number, raw in enumerate(self._lines, start=2):
            text = self._decode(raw)
            if not text.strip():
                continue
            fields = split_fields(text)
            if len(fields) != width:
                sid = (fields[self._shipping_index]
                       if len(fields) > self._shipping_index else None)
                shipment = f", shipment {sid}" if sid else ""
                yield BadLine(
                    number,
                    f"{self.name}: line {number}{shipment}: expected {width} tab-separated "
                    f"fields, found {len(fields)}",
                    text[:2000],
                    sid or None,
                )
                continue
            yield VidrRow(number, dict(zip(header, fields, strict=True)), text)
