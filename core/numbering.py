"""Document numbers from a series format such as ``INV-{year}-{seq:06d}``.

The store allocates the sequence value (gapless, in the claim's transaction); this module
turns it into text and explains a broken format instead of failing with a bare KeyError.
"""

from __future__ import annotations

from datetime import date
from string import Formatter

from syncd.connectors import NumberSeries
from syncd.errors import SyncdError

FIELDS = frozenset({"seq", "year", "month", "day", "yy"})
"""Placeholders a series format may use: {seq} is required, the rest come from the issue date."""


class NumberFormatError(SyncdError):
    """A number series format that cannot produce numbers."""


def check_format(series: NumberSeries) -> None:
    """Raise NumberFormatError naming the series when its format is unusable."""
    try:
        names = {name for _text, name, _spec, _conv in Formatter().parse(series.format)
                 if name is not None}
    except ValueError as exc:
        raise NumberFormatError(f"number series {series.name!r}: format {series.format!r} is "
                                f"malformed: {exc}") from None
    unknown = sorted(n for n in names if n not in FIELDS)
    if unknown:
        raise NumberFormatError(
            f"number series {series.name!r}: format {series.format!r} uses "
            f"{', '.join('{' + n + '}' for n in unknown)}; allowed: "
            f"{', '.join('{' + n + '}' for n in sorted(FIELDS))}")
    if "seq" not in names:
        raise NumberFormatError(f"number series {series.name!r}: format {series.format!r} "
                                "needs {seq}, or every document would get the same number")
    if series.yearly_reset and not names & {"year", "yy"}:
        raise NumberFormatError(f"number series {series.name!r}: restarts every year, so "
                                f"format {series.format!r} needs {{year}} or {{yy}} to stay "
                                "unique")


def format_number(series: NumberSeries, seq: int, issued: date) -> str:
    """The text of number `seq` of `series` for a document issued on `issued`."""
    check_format(series)
    try:
        return series.format.format(seq=seq, year=issued.year, month=issued.month,
                                    day=issued.day, yy=issued.year % 100)
    except (ValueError, TypeError) as exc:
        raise NumberFormatError(f"number series {series.name!r}: format {series.format!r} "
                                f"cannot format {seq}: {exc}") from None
