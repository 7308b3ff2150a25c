"""Finding a voucher that already exists: lexoffice has no idempotency key and does not keep
voucher numbers unique, so syncd pages `GET /v1/voucherlist` for the document's date range and
matches on the client side: the number exactly, the type, the gross amount and the date.

The list serves at most 10,000 rows per query ("Maximum search window size exceeded"); a range
with more rows is split by date until each half fits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from syncd.errors import TransientError
from syncd.model import Document
from syncd_lexoffice.client import PAGE_SIZE, SEARCH_WINDOW, LexofficeApi
from syncd_lexoffice.mapping import voucher_type


@dataclass(frozen=True)
class Match:
    id: str
    number: str
    type: str
    gross: Decimal
    day: str


def row_day(value: Any) -> str:
    """'2026-03-14T00:00:00.000+01:00' → '2026-03-14' (lexoffice answers in CET/CEST)."""
    return str(value or "")[:10]


def as_match(row: dict[str, Any]) -> Match | None:
    try:
        gross = Decimal(str(row.get("totalAmount"))).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return None
    if not row.get("id") or row.get("voucherNumber") is None:
        return None
    return Match(id=str(row["id"]), number=str(row["voucherNumber"]),
                 type=str(row.get("voucherType")), gross=gross, day=row_day(row.get("voucherDate")))


def matches(document: Document, candidate: Match) -> bool:
    return (candidate.number == document.number
            and candidate.type == voucher_type(document)
            and candidate.gross == document.totals.gross
            and (document.issue_date is None or candidate.day == document.issue_date.isoformat()))


@dataclass
class VoucherIndex:
    """Vouchers seen in lexoffice by number, plus the date ranges fully listed."""

    by_number: dict[str, list[Match]] = field(default_factory=lambda: defaultdict(list))
    covered: list[tuple[date, date]] = field(default_factory=list)

    def add(self, match: Match) -> None:
        rows = self.by_number[match.number]
        if all(m.id != match.id for m in rows):
            rows.append(match)

    def covers(self, day: date) -> bool:
        return any(start <= day <= end for start, end in self.covered)

    def find(self, document: Document) -> Match | None:
        found = [m for m in self.by_number.get(document.number or "", []) if matches(document, m)]
        return found[0] if found else None


def list_range(api: LexofficeApi, start: date, end: date, *,
               number: str | None = None) -> Iterator[Match]:
    """Every sales voucher dated in [start, end], split by date around the 10,000 window."""
    first = api.voucherlist(start, end, 0, number=number)
    if first.total_elements > SEARCH_WINDOW:
        if start >= end:
            if number is None:  # one day too full to list: fall back to the number filter
                raise _DayTooFull(start)
            raise TransientError(f"lexoffice voucherlist: more than {SEARCH_WINDOW} vouchers "
                                 f"numbered {number!r} on {start}; cannot check for duplicates")
        middle = start + timedelta(days=(end - start).days // 2)
        yield from list_range(api, start, middle, number=number)
        yield from list_range(api, middle + timedelta(days=1), end, number=number)
        return
    yield from _rows(first.rows)
    page = first
    index = 0
    while not page.last and (index + 1) * PAGE_SIZE < SEARCH_WINDOW:
        index += 1
        page = api.voucherlist(start, end, index, number=number)
        yield from _rows(page.rows)


class _DayTooFull(Exception):
    def __init__(self, day: date) -> None:
        self.day = day


def _rows(rows: Iterable[dict[str, Any]]) -> Iterator[Match]:
    for row in rows:
        match = as_match(row)
        if match is not None:
            yield match


def prefetch(api: LexofficeApi, index: VoucherIndex, documents: list[Document]) -> int:
    """List the date ranges of `documents` (250 per chunk, date-sorted) into `index`.

    Returns the number of documents whose day is now covered.
    """
    days = sorted({d.issue_date for d in documents if d.issue_date is not None})
    if not days:
        return 0
    dated = sorted((d for d in documents if d.issue_date is not None),
                   key=lambda d: d.issue_date)  # type: ignore[arg-type,return-value]
    for chunk_start in range(0, len(dated), PAGE_SIZE):
        chunk = dated[chunk_start:chunk_start + PAGE_SIZE]
        start, end = chunk[0].issue_date, chunk[-1].issue_date
        assert start is not None and end is not None
        if all(index.covers(d.issue_date) for d in chunk if d.issue_date):  # type: ignore[arg-type]
            continue
        try:
            for match in list_range(api, start, end):
                index.add(match)
        except _DayTooFull:
            continue  # each of these documents is looked up by number instead
        index.covered.append((start, end))
    return sum(1 for d in dated if index.covers(d.issue_date))  # type: ignore[arg-type]


def find_one(api: LexofficeApi, document: Document) -> Match | None:
    """Live lookup of one document on its day, matched on the client side.

    First with the `voucherNumber` filter (one request when it works and the voucher is
    there). How lexoffice applies that filter is disputed (exact, ignored, or comparing the
    HTML-escaped value: NOTES 1.6), so an empty answer is not believed: the whole day is then
    listed without it, unless the filtered answer already held other numbers (the filter was
    ignored, so that was the whole day) or the day is beyond the 10,000 window.
    """
    day = document.issue_date
    if day is None or not document.number:
        return None
    ignored = False
    for match in list_range(api, day, day, number=document.number):
        if matches(document, match):
            return match
        ignored = ignored or match.number != document.number
    if ignored:
        return None
    try:
        for match in list_range(api, day, day):
            if matches(document, match):
                return match
    except _DayTooFull:
        pass  # more than 10,000 vouchers on that day: the filtered answer has to do
    return None
