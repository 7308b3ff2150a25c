"""Read connections for the dashboard that never take the store's write lock.

The store's SQLite engine takes the write lock (BEGIN IMMEDIATE) only for write transactions;
the dashboard goes further and reads through an engine of its own: no BEGIN at all (each
statement reads its own WAL snapshot, which never blocks a writer nor waits for one, even
during the overview's seconds-long background counting) and `PRAGMA query_only`, so no page
can write. PostgreSQL's readers never block
writers, so there the store's engine is used as it is.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

import sqlalchemy as sa

from syncd.store import Store

_engines: weakref.WeakKeyDictionary[Store, sa.Engine] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def connect(store: Store) -> sa.Connection:
    """A connection for reading `store` (use it as a context manager)."""
    if store.dialect != "sqlite":
        return store.engine.connect()
    with _lock:
        engine = _engines.get(store)
        if engine is None:
            engine = _engines[store] = _sqlite_reader(store.engine.url)
    return engine.connect()


def close(store: Store) -> None:
    """Dispose of the store's read engine, if one was made."""
    with _lock:
        engine = _engines.pop(store, None)
    if engine is not None:
        engine.dispose()


def _sqlite_reader(url: sa.URL) -> sa.Engine:
    engine = sa.create_engine(url, connect_args={"timeout": 60})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # autocommit: pysqlite emits no BEGIN
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA query_only=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.close()

    return engine
