"""Durable state: documents, deliveries, steps, attachments, inbox, cursors, numbers, events.

`Store.open(url)` creates or migrates the schema (Alembic) and works on SQLite (single node,
WAL) and PostgreSQL (several workers, row leases with SKIP LOCKED) through one code path.
"""

from __future__ import annotations

from syncd.store.inbox import Control, StoreInbox
from syncd.store.store import Store
from syncd.store.types import (
    STATES,
    Claimed,
    DayCount,
    DeliveryRow,
    DocumentRow,
    EventRow,
    IngestStats,
    NotFound,
    Outcome,
    Page,
    overall_state,
    utcnow,
)

__all__ = ["STATES", "Claimed", "Control", "DayCount", "DeliveryRow", "DocumentRow",
           "EventRow", "IngestStats", "NotFound", "Outcome", "Page", "Store", "StoreInbox",
           "overall_state", "utcnow"]
