"""A derivable cache of what the VIDRs said, in the plugin's data dir (`amazon.sqlite`).

One table, `statuses`: the latest invoice-status per group with its shipment date, written by
the source from every VIDR it reads. It serves two things only:
- a return's credit note finds the source key of its shipment's invoice (for its `Link`), when
  the invoice was in an earlier VIDR;
- the 24-hour SLA warnings (`AmazonTarget.status_warnings`) from the latest VIDR.
Everything about uploads lives in the engine's delivery steps; deleting this file is safe (the
next VIDRs fill it again; a credit note whose invoice is no longer in any VIDR then carries the
VIDR's original-vat-invoice-number only).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from syncd_amazon.documents import GroupStatus

_SCHEMA = """
CREATE TABLE IF NOT EXISTS statuses (
    source_key TEXT PRIMARY KEY,
    marketplace_id TEXT NOT NULL,
    shipping_id TEXT NOT NULL,
    transaction_type TEXT NOT NULL,
    transaction_id TEXT NOT NULL,
    status TEXT NOT NULL,
    description TEXT NOT NULL,
    shipment_date TEXT,
    amazon_invoiced INTEGER NOT NULL,
    seen_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS statuses_shipping ON statuses (marketplace_id, shipping_id);
DROP TABLE IF EXISTS uploads;
DROP TABLE IF EXISTS verdicts;
"""
_COLUMNS = ("source_key, shipping_id, transaction_type, status, description, shipment_date, "
            "amazon_invoiced, seen_at")


@dataclass(frozen=True)
class StoredStatus:
    source_key: str
    shipping_id: str
    transaction_type: str
    status: str
    description: str
    shipment_date: datetime | None
    amazon_invoiced: bool
    seen_at: float


class PluginStore:
    """Thread-safe access to `amazon.sqlite` in the plugin data dir."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "amazon.sqlite"
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None,
                                   timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def record_statuses(self, statuses: Iterable[GroupStatus], seen_at: float) -> int:
        rows = [(s.source_key, s.marketplace_id, s.shipping_id, s.transaction_type,
                 s.transaction_id, s.status, s.description,
                 s.shipment_date.isoformat() if s.shipment_date else None,
                 int(s.amazon_invoiced), seen_at) for s in statuses]
        if not rows:
            return 0
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO statuses VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT(source_key) DO "
                "UPDATE SET status=excluded.status, description=excluded.description, "
                "shipment_date=excluded.shipment_date, amazon_invoiced=excluded.amazon_invoiced,"
                " seen_at=excluded.seen_at WHERE excluded.seen_at >= statuses.seen_at",
                rows,
            )
            self._db.execute("COMMIT")
        return len(rows)

    def status(self, source_key: str) -> StoredStatus | None:
        with self._lock:
            row = self._db.execute(f"SELECT {_COLUMNS} FROM statuses WHERE source_key=?",
                                   (source_key,)).fetchone()
        return _status(row) if row else None

    def shipment_of(self, marketplace_id: str, shipping_id: str) -> StoredStatus | None:
        """The SHIPMENT (invoice) group of a shipping id, e.g. for a return's original invoice."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM statuses WHERE marketplace_id=? AND shipping_id=? "
                "AND transaction_type='SHIPMENT' AND transaction_id NOT LIKE 'Correction:%' "
                "ORDER BY seen_at DESC LIMIT 1", (marketplace_id, shipping_id)).fetchone()
        return _status(row) if row else None

    def statuses(self) -> list[StoredStatus]:
        with self._lock:
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM statuses ORDER BY source_key"
                                    ).fetchall()
        return [_status(r) for r in rows]


def _status(row: tuple) -> StoredStatus:
    key, sid, ttype, status, desc, shipped, by_amazon, seen = row
    return StoredStatus(key, sid, ttype, status, desc,
                        datetime.fromisoformat(shipped) if shipped else None,
                        bool(by_amazon), seen)
