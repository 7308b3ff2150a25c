"""What every part of the store shares: the engine, short transactions, events, row helpers."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from syncd.store.schema import documents, events
from syncd.store.types import NotFound, utcnow


class StoreBase:
    """One state database. Every state change is one short transaction."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._fresh_rows = 0
        self._analyzed_rows = 0

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def tx(self) -> Iterator[sa.Connection]:
        with self.engine.begin() as conn:
            yield conn

    def _insert_many(self, conn: sa.Connection, table: sa.Table, rows: list[dict]) -> None:
        if rows:
            conn.execute(table.insert(), rows)

    def _insert(self, table: sa.Table) -> Any:
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)

    def _lock(self, query: Any) -> Any:
        """FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers."""
        return query.with_for_update() if self.dialect == "postgresql" else query

    def event(self, kind: str, **fields: Any) -> None:
        with self.tx() as conn:
            self._event(conn, kind, **fields)

    def _event(self, conn: sa.Connection, kind: str, *, at: datetime | None = None,
               **fields: Any) -> None:
        conn.execute(events.insert().values(kind=kind, at=at or utcnow(), **fields))

    def _documents(self, conn: sa.Connection, ids: Sequence[int]) -> list[Any]:
        rows = {r.id: r for r in conn.execute(
            sa.select(documents.c.id, documents.c.pipeline, documents.c.source_key,
                      documents.c.status).where(documents.c.id.in_(list(ids))))}
        missing = [i for i in ids if i not in rows]
        if missing:
            raise NotFound(f"no document with id {', '.join(map(str, missing))}")
        return [rows[i] for i in ids]


def jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def as_dict(row: Any, exclude: set[str] | None = None) -> dict[str, Any]:
    out = {}
    for key, value in row._mapping.items():
        if exclude and key in exclude:
            continue
        out[key] = value.isoformat() if isinstance(value, datetime | date) else value
    return out
