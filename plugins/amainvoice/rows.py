"""Reading one Amainvoice row: amounts, dates, quantities and addresses, each naming its field.

Amounts follow the spec (NOTES 2.6): each money field comes as gross (`itemprice`), net
(`itemprice_netto`) and VAT (`itemprice_tax`), line totals for the whole quantity. With the
`mwst` flag set the gross is charged with `taxrate` %; with it empty the net fields are the
price and the VAT is 0 (no German VAT charged: reverse charge, export, OSS elsewhere).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from syncd.model import CENT, Address

HOUSE_NUMBER = re.compile(r"^\d+\s*[a-zA-Z]?(?:\s*[-/]\s*\d+[a-zA-Z]?)?$")
COUNTRY_ALIASES = {"UK": "GB", "EL": "GR"}
ZERO = Decimal(0)


class RowError(ValueError):
    """A field of a row that cannot be read; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"field {field}: {message}")


def text(row: dict[str, str], field: str) -> str:
    return (row.get(field) or "").strip()


def amount(row: dict[str, str], field: str) -> Decimal | None:
    """A money field as Decimal to the cent; None when empty; RowError when unreadable."""
    raw = text(row, field)
    if not raw:
        return None
    try:
        value = Decimal(raw.replace(",", ".") if raw.count(",") == 1 and "." not in raw
                        else raw)
    except InvalidOperation:
        raise RowError(field, f"{raw!r} is not a number") from None
    if not value.is_finite():
        raise RowError(field, f"{raw!r} is not a number")
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def quantity(row: dict[str, str], *fields: str) -> Decimal:
    for field in fields:
        raw = text(row, field)
        if not raw:
            continue
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise RowError(field, f"{raw!r} is not a quantity") from None
        if not value.is_finite() or value < 0:
            raise RowError(field, f"{raw!r} is not a quantity")
        return value if value != 0 else Decimal(1)
    return Decimal(1)


def day(row: dict[str, str], field: str, required: bool = True) -> date | None:
    raw = text(row, field)
    if not raw:
        if required:
            raise RowError(field, "missing")
        return None
    if len(raw) >= 10 and raw[4] == "-" and raw[7] == "-":
        try:
            return date.fromisoformat(raw[:10])  # the common case, fast
        except ValueError:
            pass
    for fmt in ("%d.%m.%Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(raw[:19], fmt).date()
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(raw).date()
    except ValueError:
        raise RowError(field, f"{raw!r} is not a date") from None


def rate(row: dict[str, str]) -> Decimal:
    """The VAT rate as a fraction; 0 when the mwst flag is empty."""
    if not text(row, "mwst") or text(row, "mwst").lower() in ("0", "false", "nein", "no"):
        return ZERO
    raw = text(row, "taxrate")
    if not raw:
        raise RowError("taxrate", "missing although mwst is set")
    try:
        percent = Decimal(raw.replace(",", "."))
    except InvalidOperation:
        raise RowError("taxrate", f"{raw!r} is not a number") from None
    if not percent.is_finite() or not ZERO <= percent < 100:
        raise RowError("taxrate", f"{raw!r} is not a VAT percentage")
    return (percent / 100).normalize()


@dataclass(frozen=True)
class Amounts:
    net: Decimal
    vat: Decimal
    gross: Decimal

    def scaled(self, sign: int) -> Amounts:
        return Amounts(self.net * sign, self.vat * sign, self.gross * sign)

    def negative(self) -> Amounts:
        """A discount: always a reduction, whatever sign the row used."""
        return self if self.gross <= 0 and self.net <= 0 else Amounts(
            -abs(self.net), -abs(self.vat), -abs(self.gross))


def amounts(row: dict[str, str], base: str, vat_rate: Decimal) -> Amounts | None:
    """Net, VAT and gross of one money field (`base`, `base_netto`, `base_tax`); None if zero."""
    gross, net, vat = (amount(row, base), amount(row, f"{base}_netto"),
                       amount(row, f"{base}_tax"))
    if vat_rate == 0:  # mwst empty: the net fields are the price, VAT is 0
        price = net if net is not None else gross
        if price is None or price == 0:
            return None
        return Amounts(price, ZERO, price)
    if gross is None:
        if net is None:
            return None
        if vat is None:
            vat = (net * vat_rate).quantize(CENT, rounding=ROUND_HALF_UP)
        gross = net + vat
    if gross == 0 and not net and not vat:
        return None
    if net is None and vat is None:
        net = (gross / (1 + vat_rate)).quantize(CENT, rounding=ROUND_HALF_UP)
        vat = gross - net
    elif net is None:
        assert vat is not None
        net = gross - vat
    elif vat is None:
        vat = gross - net
    if net + vat != gross:
        raise RowError(f"{base}_tax", f"{base}_netto {net} + {base}_tax {vat} = {net + vat} "
                                      f"differs from {base} {gross}")
    return Amounts(net, vat, gross)


def country(raw: str) -> str | None:
    code = raw.strip().upper()
    code = COUNTRY_ALIASES.get(code, code)
    return code if re.fullmatch(r"[A-Z]{2}", code) else None


def street_lines(a1: str, a2: str, a3: str) -> tuple[str, ...]:
    """NOTES 2.6: address1 is the street (a numeric address2 is its house number), else
    address2 (+ a numeric address3); what is left is the address supplement / department."""
    def numeric(value: str) -> bool:
        return bool(HOUSE_NUMBER.match(value))

    if a1:
        if a2 and numeric(a2):
            return tuple(x for x in (f"{a1} {a2}", a3) if x)
        return tuple(x for x in (a1, a2, a3) if x)
    if a2:
        if a3 and numeric(a3):
            return (f"{a2} {a3}",)
        return tuple(x for x in (a2, a3) if x)
    return (a3,) if a3 else ()


def address(row: dict[str, str], prefix: str, name: str, company: str = "",
            phone: str = "", fallback_country: str = "") -> Address | None:
    """Billing (`bill…`) or shipping (`ship…`) address; None when the row has none."""
    lines = street_lines(text(row, f"{prefix}address1"), text(row, f"{prefix}address2"),
                         text(row, f"{prefix}address3"))
    code = country(text(row, f"{prefix}country")) or country(fallback_country)
    if code is None:
        if lines or text(row, f"{prefix}city"):
            raise RowError(f"{prefix}country", f"{text(row, f'{prefix}country')!r} is not a "
                                               "country code")
        return None
    return Address(name=name or None, company=company or None, lines=lines,
                   postal_code=text(row, f"{prefix}postalcode") or None,
                   city=text(row, f"{prefix}city") or None,
                   state=text(row, f"{prefix}state") or None, country=code,
                   phone=phone or None)
