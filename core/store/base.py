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
        # compiled executemany statements per (table, columns): see _insert_many/_update_many
        self._inserts: dict[tuple[str, tuple[str, ...]], tuple[str, list[Any], tuple]] = {}
        self._updates: dict[tuple, tuple[str, list[Any]]] = {}

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def tx(self) -> Iterator[sa.Connection]:
        """A write transaction (on SQLite: BEGIN IMMEDIATE, the one writer queues up front;
        reads through `engine.connect()` take no write lock)."""
        with self.engine.connect() as conn:
            conn.execution_options(syncd_write=True)
            with conn.begin():
                yield conn

    def _insert_many(self, conn: sa.Connection, table: sa.Table, rows: list[dict]) -> None:
        """Insert rows that all have the same keys, as one DBAPI executemany.

        The hot path (documents, revisions, deliveries, attempts, events: five rows per
        document): the statement is compiled once per table and key set and the column types'
        bind processors run in a plain loop, skipping SQLAlchemy's per-row parameter handling.
        """
        if not rows:
            return
        keys = tuple(rows[0])
        sql, processors, defaults = self._compiled_insert(table, keys)
        conn.exec_driver_sql(sql, _bound(table, rows, keys, processors, defaults))

    def _update_many(self, conn: sa.Connection, table: sa.Table, rows: list[dict], *,
                     key: str = "id", keep: tuple[str, ...] = ()) -> None:
        """`UPDATE table SET … WHERE key = ?` per row (same keys in every row), as one DBAPI
        executemany; a column in `keep` keeps its value where the row gives None."""
        if not rows:
            return
        columns = tuple(k for k in rows[0] if k != key)
        cache = self._updates
        found = cache.get((table.name, columns, key, keep))
        if found is None:
            dialect = self.engine.dialect
            quote = dialect.identifier_preparer.quote
            marker = "?" if dialect.paramstyle == "qmark" else "%s"
            sets = ", ".join(f"{quote(c)} = COALESCE({marker}, {quote(c)})" if c in keep
                             else f"{quote(c)} = {marker}" for c in columns)
            sql = f"UPDATE {quote(table.name)} SET {sets} WHERE {quote(key)} = {marker}"
            found = cache[(table.name, columns, key, keep)] = (sql, [
                table.c[c].type._cached_bind_processor(dialect) for c in (*columns, key)])
        sql, processors = found
        conn.exec_driver_sql(sql, _bound(table, rows, (*columns, key), processors))

    def _compiled_insert(self, table: sa.Table, keys: tuple[str, ...]
                         ) -> tuple[str, list[Any], tuple[Any, ...]]:
        cache = self._inserts
        found = cache.get((table.name, keys))
        if found is None:
            dialect = self.engine.dialect
            quote = dialect.identifier_preparer.quote
            # Python-side scalar defaults of columns the rows leave out, as SQLAlchemy would
            extra = [c for c in table.columns if c.name not in keys and c.default is not None
                     and c.default.is_scalar]
            columns = [table.c[k] for k in keys] + extra
            marker = "?" if dialect.paramstyle == "qmark" else "%s"
            sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(c.name) for c in columns)})"
                   f" VALUES ({', '.join([marker] * len(columns))})")
            processors = [c.type._cached_bind_processor(dialect) for c in columns]
            defaults = tuple((p(v) if p else v) for c, p in zip(extra, processors[len(keys):],
                                                                strict=True)
                             for v in [c.default.arg])  # type: ignore[union-attr]
            found = cache[(table.name, keys)] = (sql, processors[:len(keys)], defaults)
        return found

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


def _bound(table: sa.Table, rows: list[dict], names: tuple[str, ...], processors: list[Any],
           constants: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """DBAPI parameters: each row's values for `names`, through the column types' bind
    processors, then `constants`."""
    params = []
    for row in rows:
        if len(row) != len(names):
            raise ValueError(f"rows for {table.name} differ in their keys")
        params.append((*(process(row[n]) if process else row[n]
                         for n, process in zip(names, processors, strict=True)), *constants))
    return params


def jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def as_dict(row: Any, exclude: set[str] | None = None) -> dict[str, Any]:
    out = {}
    for key, value in row._mapping.items():
        if exclude and key in exclude:
            continue
        out[key] = value.isoformat() if isinstance(value, datetime | date) else value
    return out
