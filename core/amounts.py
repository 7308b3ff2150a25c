"""Checking that a document adds up to the cent: lines, VAT breakdown and totals.

Runs on every construction of a `Document` (and is skipped for bodies the store wrote after
checking them), so it sums plain Decimals instead of building models.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING

from syncd.errors import DocumentValidationError

if TYPE_CHECKING:
    from syncd.model import Document, Line, VatBreakdown


def sums_per_rate(lines: Iterable[Line]) -> dict[Decimal, list[Decimal]]:
    """Net, VAT and gross per normalized rate: plain Decimals, no models (hot path)."""
    sums: dict[Decimal, list[Decimal]] = {}
    for line in lines:
        key = line.vat_rate.normalize()
        acc = sums.get(key)
        if acc is None:
            sums[key] = [line.net, line.vat, line.gross]
        else:
            acc[0] += line.net
            acc[1] += line.vat
            acc[2] += line.gross
    return sums


_AMOUNTS = ("net", "vat", "gross")


def check_amounts(doc: Document) -> None:
    """Raise DocumentValidationError naming the document and field that do not add up."""

    def fail(field: str, stated: Decimal, computed: Decimal, what: str) -> None:
        raise DocumentValidationError(
            doc.identity, field, f"{stated} differs from {what} {computed}"
        )

    if not doc.lines:
        raise DocumentValidationError(doc.identity, "lines", "a document needs at least one line")
    for i, line in enumerate(doc.lines):
        if line.net + line.vat != line.gross:
            fail(f"lines[{i}].gross", line.gross, line.net + line.vat, "net + vat =")
    computed = sums_per_rate(doc.lines)
    stated: dict[Decimal, VatBreakdown] = {}
    total = [Decimal(0), Decimal(0), Decimal(0)]
    for i, row in enumerate(doc.vat_breakdown):
        key = row.rate.normalize()
        if key in stated:
            raise DocumentValidationError(
                doc.identity, f"vat_breakdown[{i}].rate", f"rate {row.rate} appears twice"
            )
        stated[key] = row
        if row.net + row.vat != row.gross:
            fail(f"vat_breakdown[{i}].gross", row.gross, row.net + row.vat, "net + vat =")
        total[0] += row.net
        total[1] += row.vat
        total[2] += row.gross
    for rate in sorted(computed.keys() | stated.keys()):
        have, want = stated.get(rate), computed.get(rate)
        if have is None or want is None:
            raise DocumentValidationError(
                doc.identity,
                "vat_breakdown",
                f"rate {rate} is in the {'lines' if have is None else 'breakdown'} only",
            )
        for name, value in zip(_AMOUNTS, want, strict=True):
            if getattr(have, name) != value:
                fail(f"vat_breakdown[rate={rate}].{name}", getattr(have, name), value,
                     "the sum of its lines")
    for name, value in zip(_AMOUNTS, total, strict=True):
        if getattr(doc.totals, name) != value:
            fail(f"totals.{name}", getattr(doc.totals, name), value,
                 "the sum of the VAT breakdown")
