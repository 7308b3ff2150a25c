"""Opening the state database: engine options per backend and migrations at open.

SQLite runs in WAL mode and every write transaction starts with BEGIN IMMEDIATE, so the one
writer is serialised up front instead of failing half-way (reads take no write lock);
PostgreSQL uses row locks (SKIP LOCKED).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).with_name("migrations")


def create_engine(url: str) -> sa.Engine:
    """An engine configured for syncd's access pattern on SQLite or PostgreSQL."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 60})
        _sqlite_pragmas(engine)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def _sqlite_pragmas(engine: sa.Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own is deferred)
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # writers (Store.tx, migrations) serialise up front; readers read their WAL snapshot
        # and neither wait for the writer nor hold it up
        writes = conn.get_execution_options().get("syncd_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def alembic_config(connection: sa.Connection | None = None) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def migrate(engine: sa.Engine) -> None:
    """Bring the schema to the newest revision; cheap when it already is."""
    cfg = alembic_config()
    head = ScriptDirectory.from_config(cfg).get_current_head()
    with engine.connect() as conn, conn.execution_options(syncd_write=True).begin():
        if conn.dialect.name == "postgresql":  # several workers may start at once
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7245109)")
        current = MigrationContext.configure(conn).get_current_revision()
        if current == head:
            return
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
