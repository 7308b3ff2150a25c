"""Amazon's upload totals, summed over a group's VIDR rows, and the cross-checks syncd adds.

TotalAmount is the sum of the six `*-vat-incl-amount` columns (item, item promotion, shipping,
shipping promotion, gift wrap, gift wrap promotion), TotalVATAmount the sum of the six
`*-vat-amount` columns; promotion columns already carry their sign. Amazon compares both at two
decimals and rejects the upload when they differ, so syncd refuses to upload anything whose
document disagrees with these sums.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from syncd.errors import InputError
from syncd_amazon.vidr import VidrRow

COMPONENTS: tuple[str, ...] = (
    "item", "item-promo", "shipping", "shipping-promo", "gift-wrap", "gift-promo",
)
CENT = Decimal("0.01")


def amount(row: VidrRow, column: str, *, name: str = "VIDR") -> Decimal:
    """A money column as Decimal (empty = 0); a clear error naming line and column otherwise."""
    text = row.get(column).strip()
    if not text:
        return Decimal(0)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InputError(f"{name}: line {row.line}, column {column}",
                         f"{text!r} is not an amount") from None
    if not value.is_finite():
        raise InputError(f"{name}: line {row.line}, column {column}", f"{text!r} is not finite")
    if value != value.quantize(CENT):
        raise InputError(f"{name}: line {row.line}, column {column}",
                         f"{text!r} has more than two decimals")
    return value.quantize(CENT)


@dataclass(frozen=True)
class AmazonTotals:
    """The VIDR sums Amazon checks an upload against (negative for refunds and returns)."""

    total: Decimal
    vat: Decimal
    excl: Decimal

    def feed_total(self) -> str:
        return f"{self.total:.2f}"

    def feed_vat(self) -> str:
        return f"{self.vat:.2f}"


Parts = dict[str, tuple[Decimal, Decimal, Decimal]]
"""(incl, vat, excl) per component of one row."""

_ZERO = (Decimal(0), Decimal(0), Decimal(0))


def row_parts(row: VidrRow, *, name: str = "VIDR") -> Parts:
    """Parse the six components of a row once; raise when incl − excl ≠ VAT for any of them."""
    parts: Parts = {}
    values = row.values
    for comp in COMPONENTS:
        texts = (values.get(f"{comp}-vat-incl-amount", ""), values.get(f"{comp}-vat-amount", ""),
                 values.get(f"{comp}-vat-excl-amount", ""))
        if not (texts[0] or texts[1] or texts[2]):
            parts[comp] = _ZERO
            continue
        incl_c = amount(row, f"{comp}-vat-incl-amount", name=name)
        vat_c = amount(row, f"{comp}-vat-amount", name=name)
        excl_c = amount(row, f"{comp}-vat-excl-amount", name=name)
        if incl_c - excl_c != vat_c:
            raise InputError(
                f"{name}: line {row.line}, column {comp}-vat-amount",
                f"{comp}-vat-incl-amount {incl_c} - {comp}-vat-excl-amount {excl_c} "
                f"= {incl_c - excl_c}, but {comp}-vat-amount says {vat_c}",
            )
        parts[comp] = (incl_c, vat_c, excl_c)
    return parts


def amazon_totals(rows: Iterable[VidrRow], *, name: str = "VIDR",
                  parts: Iterable[Parts] | None = None) -> AmazonTotals:
    """Sum Amazon's formula over `rows` (or their already parsed `parts`)."""
    total = vat = excl = Decimal(0)
    for row_p in parts if parts is not None else (row_parts(r, name=name) for r in rows):
        for incl_c, vat_c, excl_c in row_p.values():
            total += incl_c
            vat += vat_c
            excl += excl_c
    return AmazonTotals(total=total, vat=vat, excl=excl)
