"""Durable state: documents, deliveries, cursors, number sequences, events (SQLAlchemy Core).

`Store.open(url)` creates or migrates the schema (Alembic) and works on SQLite (single node,
WAL) and PostgreSQL (several workers, row leases with SKIP LOCKED) through one code path.
"""

from __future__ import annotations

from syncd.store.store import (
    STATES,
    Claimed,
    IngestStats,
    NotFound,
    Outcome,
    Store,
    overall_state,
    utcnow,
)

__all__ = ["STATES", "Claimed", "IngestStats", "NotFound", "Outcome", "Store",
           "overall_state", "utcnow"]
