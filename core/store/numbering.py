"""Document numbers: allocated once per document, in the claim's transaction, gapless.

The series row is locked and advanced by the number of documents that need one, so concurrent
workers queue for numbers and never share one; a rolled-back claim rolls its numbers back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from syncd.connectors import NumberSeries
from syncd.model import Document
from syncd.numbering import check_format, format_number
from syncd.store.base import StoreBase
from syncd.store.schema import documents, sequences

Numbering = Callable[[Document], NumberSeries | None]
"""The engine's plan for a document: validates it with every target of the pipeline
(raising PermanentError when one refuses) and names the series of the first numbering
target, or None when no target numbers it."""


@dataclass
class Numbered:
    number: str
    series: str | None
    issue_date: date | None


class NumberingMixin(StoreBase):
    def _number_documents(self, conn: sa.Connection, need: dict[int, tuple[Document,
                          NumberSeries]], today: date, now: datetime) -> dict[int, Numbered]:
        """Allocate one number per document (grouped per series and year) and store it."""
        groups: dict[tuple[str, int, str, bool], list[tuple[int, date]]] = {}
        for doc_id, (doc, series) in sorted(need.items()):
            issued = doc.issue_date or today
            year = issued.year if series.yearly_reset else 0
            key = (series.name, year, series.format, series.yearly_reset)
            groups.setdefault(key, []).append((doc_id, issued))
        out: dict[int, Numbered] = {}
        for (name, year, fmt, reset), group in sorted(groups.items(), key=lambda kv: kv[0][:2]):
            series = NumberSeries(name, fmt, reset)
            check_format(series)  # before a number is spent on it
            first = self._allocate(conn, name, year, fmt, len(group), now)
            for offset, (doc_id, issued) in enumerate(group):
                try:
                    number = fmt.format(seq=first + offset, year=issued.year,
                                        month=issued.month, day=issued.day,
                                        yy=issued.year % 100)
                except (ValueError, TypeError):
                    number = format_number(series, first + offset, issued)  # explains it
                out[doc_id] = Numbered(number, name, issued)
        self._update_many(conn, documents, [
            {"number": n.number, "number_series": n.series, "issue_date": n.issue_date,
             "id": k} for k, n in out.items()])
        return out

    def _allocate(self, conn: sa.Connection, series: str, year: int, fmt: str, count: int,
                  now: datetime) -> int:
        """Reserve `count` consecutive numbers; the row lock makes concurrent workers queue."""
        conn.execute(self._insert(sequences).values(
            series=series, year=year, format=fmt, last_value=0, updated_at=now
        ).on_conflict_do_nothing(index_elements=[sequences.c.series, sequences.c.year]))
        last = conn.execute(
            sequences.update()
            .where(sequences.c.series == series, sequences.c.year == year)
            .values(last_value=sequences.c.last_value + count, format=fmt, updated_at=now)
            .returning(sequences.c.last_value)).scalar_one()
        return last - count + 1

    def number_of(self, source: str, source_key: str) -> str | None:
        """The number of a document (allocated by the engine or given by its source)."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(documents.c.number).where(
                documents.c.source == source, documents.c.source_key == source_key)).scalar()

    def document_by_number(self, number: str) -> Any:
        """The id of the document carrying `number`, or None."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(documents.c.id).where(
                documents.c.number == number).order_by(documents.c.id).limit(1)).scalar()
