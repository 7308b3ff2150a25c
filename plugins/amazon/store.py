"""The plugin's own small SQLite file in its data dir: what Amazon last said and what we sent.

Three tables, all only hints that make uploads safe to retry:
- `statuses`: the latest VIDR invoice-status per group (and its shipment date, for the 24-hour
  SLA), written by the source each time it reads a report;
- `verdicts`: the last rejection handed to the engine per group and upload, so a rejection
  that stays in every pending VIDR until the next upload is reported once, not every run;
- `uploads`: one row per upload attempt, written *before* createFeed (state `requested`) and
  updated with the feed id and outcome, so that `find_existing` can tell "never reached Amazon"
  from "reached Amazon, outcome pending".
The engine's store stays authoritative for documents and numbers; this file can be deleted
safely (find_existing then falls back to asking the next VIDR).
"""

from __future__ import annotations

import sqlite3
import threading
import time
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
CREATE TABLE IF NOT EXISTS uploads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source_key TEXT NOT NULL,
    number TEXT NOT NULL,
    feed_document_id TEXT NOT NULL,
    feed_id TEXT,
    state TEXT NOT NULL,
    code TEXT,
    message TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS uploads_key ON uploads (source_key, id);
CREATE TABLE IF NOT EXISTS verdicts (
    source_key TEXT PRIMARY KEY,
    upload_id INTEGER NOT NULL,
    message TEXT NOT NULL,
    sent_at REAL NOT NULL
);
"""

REQUESTED = "requested"  # createFeed was about to be called; its outcome is unknown
CREATED = "created"  # Amazon returned a feed id; processing outcome not yet known
ACCEPTED = "accepted"  # the processing report listed no error
REJECTED = "rejected"  # the processing report (or a later VIDR) rejected it
FAILED = "failed"  # createFeed was refused before a feed existed


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


@dataclass(frozen=True)
class Upload:
    id: int
    source_key: str
    number: str
    feed_document_id: str
    feed_id: str | None
    state: str
    code: str | None
    message: str | None
    created_at: float
    updated_at: float


class PluginStore:
    """Thread-safe access to `amazon.sqlite` in the plugin data dir."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "amazon.sqlite"
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # statuses -----------------------------------------------------------------------------
    def record_statuses(self, statuses: Iterable[GroupStatus], seen_at: float) -> int:
        rows = [(s.source_key, s.marketplace_id, s.shipping_id, s.transaction_type,
                 s.transaction_id, s.status, s.description,
                 s.shipment_date.isoformat() if s.shipment_date else None,
                 int(s.amazon_invoiced), seen_at) for s in statuses]
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
            row = self._db.execute(
                "SELECT source_key, shipping_id, transaction_type, status, description, "
                "shipment_date, amazon_invoiced, seen_at FROM statuses WHERE source_key=?",
                (source_key,),
            ).fetchone()
        return _status(row) if row else None

    def shipment_of(self, marketplace_id: str, shipping_id: str) -> StoredStatus | None:
        """The SHIPMENT (invoice) group of a shipping id, e.g. for a return's original invoice."""
        with self._lock:
            row = self._db.execute(
                "SELECT source_key, shipping_id, transaction_type, status, description, "
                "shipment_date, amazon_invoiced, seen_at FROM statuses WHERE marketplace_id=? "
                "AND shipping_id=? AND transaction_type='SHIPMENT' "
                "AND transaction_id NOT LIKE 'Correction:%' ORDER BY seen_at DESC LIMIT 1",
                (marketplace_id, shipping_id),
            ).fetchone()
        return _status(row) if row else None

    def statuses(self) -> list[StoredStatus]:
        with self._lock:
            rows = self._db.execute(
                "SELECT source_key, shipping_id, transaction_type, status, description, "
                "shipment_date, amazon_invoiced, seen_at FROM statuses ORDER BY source_key"
            ).fetchall()
        return [_status(r) for r in rows]

    # uploads ------------------------------------------------------------------------------
    def begin_upload(self, source_key: str, number: str, feed_document_id: str) -> int:
        now = time.time()
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO uploads (source_key, number, feed_document_id, state, created_at, "
                "updated_at) VALUES (?,?,?,?,?,?)",
                (source_key, number, feed_document_id, REQUESTED, now, now),
            )
            return int(cur.lastrowid or 0)

    def update_upload(self, upload_id: int, state: str, *, feed_id: str | None = None,
                      code: str | None = None, message: str | None = None) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE uploads SET state=?, feed_id=COALESCE(?, feed_id), code=?, message=?, "
                "updated_at=? WHERE id=?",
                (state, feed_id, code, message, time.time(), upload_id),
            )

    def latest_upload(self, source_key: str) -> Upload | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, source_key, number, feed_document_id, feed_id, state, code, message,"
                " created_at, updated_at FROM uploads WHERE source_key=? ORDER BY id DESC "
                "LIMIT 1", (source_key,),
            ).fetchone()
        return Upload(*row) if row else None

    def uploaded_number(self, source_key: str) -> str | None:
        """The number of the latest upload of `source_key` that Amazon did not reject."""
        with self._lock:
            row = self._db.execute(
                "SELECT number FROM uploads WHERE source_key=? AND state IN (?, ?) "
                "ORDER BY id DESC LIMIT 1", (source_key, CREATED, ACCEPTED),
            ).fetchone()
        return str(row[0]) if row else None

    def verdict_sent(self, source_key: str) -> tuple[int, str] | None:
        """(upload id, message) of the last rejection the source handed to the engine."""
        with self._lock:
            row = self._db.execute("SELECT upload_id, message FROM verdicts WHERE source_key=?",
                                   (source_key,)).fetchone()
        return (int(row[0]), str(row[1])) if row else None

    def mark_verdicts(self, marks: Iterable[tuple[str, int, str]]) -> None:
        rows = [(key, upload_id, message, time.time()) for key, upload_id, message in marks]
        if not rows:
            return
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO verdicts VALUES (?,?,?,?) ON CONFLICT(source_key) DO UPDATE SET "
                "upload_id=excluded.upload_id, message=excluded.message, "
                "sent_at=excluded.sent_at", rows)
            self._db.execute("COMMIT")

    def uploads(self) -> list[Upload]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, source_key, number, feed_document_id, feed_id, state, code, message,"
                " created_at, updated_at FROM uploads ORDER BY id"
            ).fetchall()
        return [Upload(*r) for r in rows]


def _status(row: tuple) -> StoredStatus:
    key, sid, ttype, status, desc, shipped, by_amazon, seen = row
    return StoredStatus(key, sid, ttype, status, desc,
                        datetime.fromisoformat(shipped) if shipped else None,
                        bool(by_amazon), seen)
