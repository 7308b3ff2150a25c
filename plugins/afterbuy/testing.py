"""Test helpers: an in-memory inbox (the `syncd.context.Inbox` protocol) and a source on it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from syncd.connectors import Batch, ConnectorContext
from syncd.context import InboxItem
from syncd.model import Document
from syncd_afterbuy.config import AfterbuyConfig
from syncd_afterbuy.source import AfterbuySource


class MemoryInbox:
    """Pushed files in memory; the same bytes pushed twice are one item, as in the engine."""

    def __init__(self, pipeline: str = "afterbuy") -> None:
        self.pipeline = pipeline
        self._items: list[InboxItem] = []
        self._data: dict[int, bytes] = {}

    def push(self, filename: str, data: bytes, *, received_at: datetime | None = None
             ) -> InboxItem:
        digest = hashlib.sha256(data).hexdigest()
        for item in self._items:
            if item.sha256 == digest:
                return item
        item = InboxItem(id=len(self._items) + 1, pipeline=self.pipeline, filename=filename,
                         media_type="text/csv", sha256=digest, size=len(data),
                         received_at=received_at or datetime.now(UTC), actor="test")
        self._items.append(item)
        self._data[item.id] = data
        return item

    def items(self, after: int | None = None) -> Iterator[InboxItem]:
        yield from (item for item in self._items if after is None or item.id > after)

    def read(self, item: InboxItem) -> bytes:
        return self._data[item.id]


def make_source(tmp: Path, inbox: MemoryInbox | None = None, **values: Any) -> AfterbuySource:
    """An `afterbuy` source on `inbox` with config `values` (data_dir under `tmp`)."""
    data_dir = tmp / "data" / "afterbuy"
    data_dir.mkdir(parents=True, exist_ok=True)
    context = ConnectorContext(plugin="afterbuy", data_dir=data_dir, inbox=inbox, base_dir=tmp)
    return AfterbuySource(AfterbuyConfig(**{"enabled": True, **values}), context)


def read_all(source: AfterbuySource, cursor: dict | None = None) -> tuple[list[Any], dict | None]:
    """Every item of one `read` and the last cursor (what the engine would store)."""
    items: list[Any] = []
    last = cursor
    for batch in source.read(cursor):
        items.extend(batch.items)
        last = dict(batch.cursor) if batch.cursor is not None else last
    return items, last


def documents(items: list[Any]) -> dict[str, Document]:
    return {item.source_key: item for item in items if isinstance(item, Document)}


__all__ = ["Batch", "MemoryInbox", "documents", "make_source", "read_all"]


@contextmanager
def running_emulator(invoices: int = 12) -> Iterator[Any]:
    """An Afterbuy emulator serving a generated export of `invoices` (as `.export`)."""
    from syncd_afterbuy.sandbox import AfterbuyEmulator
    from syncd_afterbuy.sandbox.generator import generate

    export = generate(invoices)
    with AfterbuyEmulator(export.invoices) as emulator:
        emulator.export = export
        yield emulator
