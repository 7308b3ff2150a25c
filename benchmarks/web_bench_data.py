"""The web benchmark's data: a million documents bulk-loaded into a migrated store, kept
between runs (see `web_bench.py`)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

CHUNK = 20000
FORMAT = "3"  # bump when the generated data changes: cached databases are rebuilt
START = datetime(2026, 1, 1)


def _state(i: int) -> str:
    r = i % 200
    return ("error" if r < 2 else "waiting" if r < 4 else "manual" if r < 6
            else "revised" if r == 7 else "done")


def buyer_of(i: int) -> tuple[str, str | None]:
    return f"Buyer {i % 5000}", (f"Firma {i % 3000} GmbH" if i % 5 == 0 else None)


def order_of(i: int) -> str:
    return f"302-{i:07d}-{i % 9973:07d}"


def _rows(count: int) -> Iterator[dict[str, dict[str, Any]]]:
    """Column dicts per table for document i, as the engine would have written them."""
    from syncd.store.queries import search_fields

    for i in range(1, count + 1):
        at = START + timedelta(seconds=i * 20)
        name, company = buyer_of(i)
        body = json.dumps({
            "kind": "invoice", "source": "synthetic", "source_key": f"k{i}", "currency": "EUR",
            "number": f"INV-2026-{i:07d}", "issue_date": at.date().isoformat(),
            "buyer": {"name": name, "company": company},
            "references": {"order_id": order_of(i)},
            "lines": [{"description": "Widget", "quantity": "1", "net": "10.00",
                       "vat_rate": "0.19", "vat": "1.90", "gross": "11.90"}],
            "totals": {"net": "10.00", "vat": "1.90", "gross": "11.90"}},
            separators=(",", ":"))
        state = _state(i)
        error = "HTTP 400: invalid VAT id" if state == "error" else None
        yield {
            "documents": {
                "id": i, "pipeline": "shop", "source": "synthetic", "source_key": f"k{i}",
                "kind": "invoice", "status": "ok", "error": None,
                "revision": 2 if state == "revised" else 1, "content_hash": "0" * 64,
                "body": body, "number": f"INV-2026-{i:07d}", "number_series": "bench",
                "issue_date": at.date(), "created_at": at, "updated_at": at,
                **search_fields(order_of(i), name, company)},
            "deliveries": {
                "id": i, "document_id": i, "pipeline": "shop", "target": "lexoffice",
                "state": state, "attempts": 1, "next_attempt_at": at, "in_doubt": False,
                "resend": False, "error_message": error, "created_at": at, "updated_at": at},
            "attempts": {
                "id": i, "delivery_id": i, "attempt": 1, "action": "deliver",
                "outcome": "permanent" if error else "done", "error_message": error,
                "started_at": at, "finished_at": at},
            "events": {
                "id": i, "at": at, "pipeline": "shop", "document_id": i, "delivery_id": i,
                "kind": "error" if error else "delivered", "message": error},
        }


TABLES = ("documents", "deliveries", "attempts", "events")


def fill(store: Any, count: int) -> None:
    """Bulk-load with the tables' indexes dropped and built afterwards (COPY on
    PostgreSQL, executemany on SQLite), then ANALYZE."""
    from syncd.store.schema import metadata

    t = time.perf_counter()
    tables = [metadata.tables[n] for n in TABLES]
    with store.engine.begin() as conn:
        for table in tables:
            for index in table.indexes:
                index.drop(conn)
    first = next(_rows(1))
    cols = {n: list(first[n]) for n in TABLES}
    raw = store.engine.raw_connection()
    try:
        cur = raw.cursor()
        if store.dialect != "postgresql":
            cur.execute("BEGIN")  # the store's SQLite connections run in autocommit mode
        batch: list[dict[str, dict[str, Any]]] = []
        for row in _rows(count):
            batch.append(row)
            if len(batch) == CHUNK:
                _write(cur, store.dialect, cols, batch)
                batch = []
        _write(cur, store.dialect, cols, batch)
        raw.commit()
    finally:
        raw.close()
    with store.engine.begin() as conn:
        for table in tables:
            for index in table.indexes:
                index.create(conn)
        if store.dialect == "postgresql":
            for n in TABLES:
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{n}', 'id'), "
                                     f"{count})")
    if store.dialect == "postgresql":
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with store.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    print(f"  setup: {count:,} documents in {time.perf_counter() - t:.1f} s", flush=True)


def _write(cur: Any, dialect: str, cols: dict[str, list[str]],
           batch: list[dict[str, dict[str, Any]]]) -> None:
    for name in TABLES:
        if dialect == "postgresql":
            with cur.copy(f"COPY {name} ({', '.join(cols[name])}) FROM STDIN") as copy:
                for row in batch:
                    copy.write_row([row[name][c] for c in cols[name]])
        else:
            marks = ", ".join("?" * len(cols[name]))
            cur.executemany(f"INSERT INTO {name} ({', '.join(cols[name])}) VALUES ({marks})",
                            [[row[name][c] for c in cols[name]] for row in batch])


def _status(store: Any, count: int) -> str:
    """"ready" (this run's data is there), "empty", "stale" (an older run's) or "foreign"."""
    with store.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS bench_meta (format VARCHAR(20), "
                             "documents INTEGER)")
        meta = conn.exec_driver_sql("SELECT format, documents FROM bench_meta").first()
        if meta is not None:
            return "ready" if tuple(meta) == (FORMAT, count) else "stale"
        has = conn.exec_driver_sql("SELECT 1 FROM documents LIMIT 1").first()
    return "foreign" if has else "empty"


def prepare(url: str, count: int, fresh: bool) -> None:
    """Reuse the cached data, or rebuild it in a database this benchmark made."""
    from syncd.store import Store

    store = Store.open(url)  # migrates a fresh or older database
    status = _status(store, count)
    if status == "foreign":
        store.close()
        raise SystemExit(f"{store.engine.url!r} holds documents this benchmark did not "
                         "write; give it a database of its own")
    if status == "ready" and not fresh:
        store.close()
        print("  setup: cached database reused", flush=True)
        return
    if status != "empty":
        store.close()
        if store.dialect == "postgresql":
            engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                conn.exec_driver_sql("DROP SCHEMA public CASCADE")
                conn.exec_driver_sql("CREATE SCHEMA public")
            engine.dispose()
        else:
            Path(sa.make_url(url).database or "").unlink()
        store = Store.open(url)
        _status(store, count)
    try:
        fill(store, count)
        with store.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO bench_meta VALUES (:f, :n)"),
                         {"f": FORMAT, "n": count})
    finally:
        store.close()


def pg_database(url: str) -> bool:
    """Create the benchmark's PostgreSQL database when absent; False when unreachable."""
    import psycopg

    parsed = sa.make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres")
    try:
        with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True,
                             connect_timeout=3) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                (parsed.database,)).fetchone():
                conn.execute(f'CREATE DATABASE "{parsed.database}"')
    except psycopg.OperationalError as exc:
        print(f"postgresql: skipped ({exc})")
        return False
    return True
