"""A tiny inbox-reading CSV source for the dashboard's upload tests (Afterbuy-like rows).

Columns: order_id, buyer, net. A row that does not parse becomes a `Rejected` naming its
line and column, as the real CSV sources do.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from syncd import hookimpl
from syncd.connectors import Batch, Cursor, PluginConfig, Rejected, Source, Window
from syncd.model import CENT, Buyer, DocumentKind, Line, References, build_document


class CsvConfig(PluginConfig):
    __test__ = False


class CsvSource(Source):
    name: ClassVar[str] = "webcsv"
    config_model = CsvConfig

    def read(self, cursor: Cursor | None, window: Window | None = None) -> Iterator[Batch]:
        inbox = self.context.inbox
        after = int((cursor or {}).get("inbox", 0)) or None
        for item in inbox.items(after=after):
            rows = csv.DictReader(io.StringIO(inbox.read(item).decode("utf-8")))
            items: list[Any] = []
            for line, row in enumerate(rows, start=2):
                key = row.get("order_id") or f"{item.filename}:{line}"
                try:
                    net = Decimal(row["net"])
                except (InvalidOperation, KeyError, TypeError):
                    items.append(Rejected(key, f"{item.filename} line {line}, column net: "
                                               f"not an amount: {row.get('net')!r}", row))
                    continue
                vat = (net * Decimal("0.19")).quantize(CENT)
                items.append(build_document(
                    kind=DocumentKind.INVOICE, source="webcsv", source_key=key,
                    currency="EUR", buyer=Buyer(name=row.get("buyer") or None),
                    references=References(order_id=key),
                    lines=[Line(description="CSV", net=net, vat_rate=Decimal("0.19"), vat=vat,
                                gross=net + vat)]))
            yield Batch(items, {"inbox": item.id})


@hookimpl
def register_config_models(register: Callable[[str, type], None]) -> None:
    register("webcsv", CsvConfig)


@hookimpl
def register_sources(register: Callable[[type], None]) -> None:
    register(CsvSource)


PLUGIN: tuple[str, object] = ("webcsv", sys.modules[__name__])
