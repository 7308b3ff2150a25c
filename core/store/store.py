"""The durable state: what was pulled, what waits, what was delivered, and who did what.

Every state change is one short transaction. Pulls commit documents and the source cursor
together; claims lease deliveries and allocate their numbers together; outcomes are written
in batches. The remote side effect always happens between two commits, never inside one.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from syncd.connectors import Cursor, NumberSeries, Rejected, Skipped, Verdict
from syncd.errors import SyncdError
from syncd.model import Document
from syncd.numbering import check_format, format_number
from syncd.store import database
from syncd.store.schema import (
    attempts,
    cursors,
    deliveries,
    documents,
    events,
    reloads,
    revisions,
    runs,
    sequences,
)

STATES = ("waiting", "processing", "done", "error", "manual")
CHUNK = 500


def utcnow() -> datetime:
    """Naive UTC, the only kind of time the store keeps."""
    return datetime.now(UTC).replace(tzinfo=None)


class NotFound(SyncdError):
    """An operator named a document the store does not know."""


@dataclass
class IngestStats:
    new: int = 0
    unchanged: int = 0
    revised: int = 0
    rejected: int = 0
    skipped: int = 0
    verdicts: int = 0

    def add(self, other: IngestStats) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def documents(self) -> int:
        return self.new + self.unchanged + self.revised + self.rejected


@dataclass
class Claimed:
    """A leased delivery with its document (already numbered when the target numbers)."""

    delivery_id: int
    document_id: int
    pipeline: str
    target: str
    document: Document
    revision: int
    attempts: int
    in_doubt: bool
    resend: bool
    number: str | None


@dataclass
class Outcome:
    """What one attempt ended in; `finish()` writes a list of these in one transaction."""

    claimed: Claimed
    state: str  # waiting | done | error
    action: str  # deliver | lookup
    result: str  # done | found | transient | permanent | refused
    started_at: datetime
    finished_at: datetime
    next_attempt_at: datetime | None = None
    in_doubt: bool = False
    remote_ref: str | None = None
    remote_detail: dict[str, Any] | None = None
    error_class: str | None = None
    error_code: str | None = None
    error_message: str | None = None


@dataclass
class Counts:
    by_pipeline: dict[str, dict[str, int]] = field(default_factory=dict)


SeriesFor = Callable[[str, Document], NumberSeries | None]


class Store:
    """One state database; `Store.open(url)` migrates it to the newest schema first."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._fresh_rows = 0
        self._analyzed_rows = 0

    @classmethod
    def open(cls, url: str) -> Store:
        engine = database.create_engine(url)
        database.migrate(engine)
        return cls(engine)

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

    # -- pulls ---------------------------------------------------------------------------

    def ingest(
        self,
        pipeline: str,
        source: str,
        targets: Sequence[str],
        items: Iterable[Any],
        cursor: Cursor | None,
        *,
        store_cursor: bool = True,
        reload_id: int | None = None,
        reload_done_until: date | None = None,
        actor: str | None = None,
    ) -> IngestStats:
        """Commit one batch: documents, their deliveries, events and the cursor together."""
        docs: dict[str, Document] = {}
        rejected: dict[str, Rejected] = {}
        other: list[Any] = []
        for item in items:
            if isinstance(item, Document):
                docs[item.source_key] = item
                rejected.pop(item.source_key, None)
            elif isinstance(item, Rejected):
                rejected[item.source_key] = item
                docs.pop(item.source_key, None)
            else:
                other.append(item)
        for attempt in range(3):
            try:
                stats = self._ingest(pipeline, source, targets, docs, rejected, other, cursor,
                                     store_cursor, reload_id, reload_done_until, actor)
            except sa.exc.IntegrityError:
                # another process inserted one of these identities first; the retry sees it
                if attempt == 2:
                    raise
                continue
            self._keep_statistics_fresh(stats.new)
            return stats
        raise AssertionError("unreachable")

    def _keep_statistics_fresh(self, inserted: int) -> None:
        """ANALYZE after big pulls on PostgreSQL.

        Autovacuum runs at most once a minute; until then the planner believes the tables are
        as small as when it last looked and scans every row of a source for each batch.
        """
        if self.dialect != "postgresql" or not inserted:
            return
        self._fresh_rows += inserted
        if self._fresh_rows < max(2000, self._analyzed_rows // 5):
            return
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE documents")
                conn.exec_driver_sql("ANALYZE deliveries")
                conn.commit()
        except sa.exc.DBAPIError:  # e.g. not the tables' owner: autovacuum will do it
            self._analyzed_rows = 1 << 62
            return
        self._analyzed_rows += self._fresh_rows
        self._fresh_rows = 0

    def _ingest(
        self,
        pipeline: str,
        source: str,
        targets: Sequence[str],
        docs: dict[str, Document],
        rejected: dict[str, Rejected],
        other: list[Any],
        cursor: Cursor | None,
        store_cursor: bool,
        reload_id: int | None,
        reload_done_until: date | None,
        actor: str | None,
    ) -> IngestStats:
        stats = IngestStats()
        now = utcnow()
        with self.tx() as conn:
            keys = list(docs) + list(rejected)
            existing = self._existing(conn, source, keys)
            self._ingest_documents(conn, pipeline, source, targets, docs, existing, now, stats)
            self._ingest_rejected(conn, pipeline, source, rejected, existing, now, stats, actor)
            for item in other:
                if isinstance(item, Skipped):
                    stats.skipped += 1
                    self._event(conn, "skipped", pipeline=pipeline, source_key=item.source_key,
                                message=item.reason, actor=actor, at=now)
                elif isinstance(item, Verdict):
                    stats.verdicts += 1
                    self._verdict(conn, pipeline, source, item, now, actor)
                else:
                    raise TypeError(f"a source yielded {type(item).__name__}; expected a "
                                    "Document, Rejected, Verdict or Skipped")
            if stats.new or stats.revised or stats.rejected:
                self._event(conn, "pulled", pipeline=pipeline, actor=actor, at=now,
                            message=f"{stats.new} new, {stats.revised} revised, "
                                    f"{stats.unchanged} unchanged, {stats.rejected} rejected",
                            data={"new": stats.new, "revised": stats.revised,
                                  "unchanged": stats.unchanged, "rejected": stats.rejected})
            if store_cursor and cursor is not None:
                self._save_cursor(conn, pipeline, source, cursor, now)
            if reload_id is not None:
                values: dict[str, Any] = {"updated_at": now,
                                          "documents": reloads.c.documents + stats.documents}
                if reload_done_until is not None:
                    values["done_until"] = reload_done_until
                conn.execute(reloads.update().where(reloads.c.id == reload_id).values(**values))
        return stats

    def _existing(self, conn: sa.Connection, source: str, keys: list[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for i in range(0, len(keys), CHUNK):
            rows = conn.execute(
                sa.select(documents.c.id, documents.c.source_key, documents.c.status,
                          documents.c.content_hash, documents.c.revision)
                .where(documents.c.source == source,
                       documents.c.source_key.in_(keys[i:i + CHUNK]))
            )
            found.update({r.source_key: r for r in rows})
        return found

    def _ingest_documents(
        self,
        conn: sa.Connection,
        pipeline: str,
        source: str,
        targets: Sequence[str],
        docs: dict[str, Document],
        existing: dict[str, Any],
        now: datetime,
        stats: IngestStats,
    ) -> None:
        fresh = [d for k, d in docs.items() if k not in existing]
        if fresh:
            rows = [
                {"pipeline": pipeline, "source": source, "source_key": d.source_key,
                 "kind": d.kind.value, "status": "ok", "error": None, "revision": 1,
                 "content_hash": d.content_hash, "body": d.model_dump_json(),
                 "created_at": now, "updated_at": now}
                for d in fresh
            ]
            # plain executemany plus one lookup: INSERT .. RETURNING of hundreds of rows is
            # slower on psycopg (the multi-row statement text is re-parsed every time)
            self._insert_many(conn, documents, rows)
            keys = [r["source_key"] for r in rows]
            ids_by_key: dict[str, int] = {}
            for i in range(0, len(keys), CHUNK):
                ids_by_key.update((key, doc_id) for key, doc_id in conn.execute(
                    sa.select(documents.c.source_key, documents.c.id)
                    .where(documents.c.source == source,
                           documents.c.source_key.in_(keys[i:i + CHUNK]))))
            ids = [ids_by_key[key] for key in keys]
            self._insert_many(conn, revisions, [
                {"document_id": i, "revision": 1, "content_hash": r["content_hash"],
                 "body": None, "created_at": now} for i, r in zip(ids, rows, strict=True)
            ])
            self._add_deliveries(conn, pipeline, targets, ids, now)
            stats.new += len(fresh)
        for key, doc in docs.items():
            row = existing.get(key)
            if row is None:
                continue
            digest = doc.content_hash
            if row.status == "ok" and row.content_hash == digest:
                stats.unchanged += 1
                continue
            stats.revised += 1
            self._revise(conn, pipeline, targets, row, doc, now)

    def _add_deliveries(
        self, conn: sa.Connection, pipeline: str, targets: Sequence[str], ids: Sequence[int],
        now: datetime, state: str = "waiting",
    ) -> None:
        if not ids or not targets:
            return
        self._insert_many(conn, deliveries, [
            {"document_id": i, "pipeline": pipeline, "target": t, "state": state,
             "attempts": 0, "next_attempt_at": now, "in_doubt": False, "resend": False,
             "created_at": now, "updated_at": now}
            for i in ids for t in targets
        ])

    def _revise(
        self, conn: sa.Connection, pipeline: str, targets: Sequence[str], row: Any,
        doc: Document, now: datetime,
    ) -> None:
        """A changed (or finally valid) document: keep every revision, never touch a delivery
        that may already be on the remote; the others start over with the new content."""
        revision = row.revision + 1
        body = doc.model_dump_json()
        # the current revision's body lives in documents.body; keep a copy before replacing it
        conn.execute(revisions.update().where(
            revisions.c.document_id == row.id, revisions.c.revision == row.revision,
            revisions.c.body.is_(None)).values(
            body=sa.select(documents.c.body).where(documents.c.id == row.id).scalar_subquery()))
        conn.execute(documents.update().where(documents.c.id == row.id).values(
            status="ok", error=None, revision=revision, content_hash=doc.content_hash,
            body=body, kind=doc.kind.value, updated_at=now))
        conn.execute(revisions.insert().values(
            document_id=row.id, revision=revision, content_hash=doc.content_hash, body=None,
            created_at=now))
        present = {
            r.target: r for r in conn.execute(
                sa.select(deliveries.c.id, deliveries.c.target, deliveries.c.state)
                .where(deliveries.c.document_id == row.id))
        }
        kept = [t for t, r in present.items() if r.state in ("done", "manual", "processing")]
        restart = [r.id for r in present.values() if r.state in ("waiting", "error")]
        if restart:
            conn.execute(deliveries.update().where(deliveries.c.id.in_(restart)).values(
                state="waiting", attempts=0, next_attempt_at=now, error_class=None,
                error_code=None, error_message=None, updated_at=now))
        # an operator who imported a rejected document by hand keeps it manual
        self._add_deliveries(conn, pipeline, [t for t in targets if t not in present],
                             [row.id], now, "manual" if row.status == "manual" else "waiting")
        message = f"revision {revision} stored"
        if kept:
            message += (f"; already delivered to {', '.join(sorted(kept))}: not sent again "
                        "(use `syncd documents resend` after removing the old one remotely)")
        self._event(conn, "revised", pipeline=pipeline, document_id=row.id,
                    source_key=doc.source_key, message=message, at=now,
                    data={"revision": revision, "kept": sorted(kept)})

    def _ingest_rejected(
        self,
        conn: sa.Connection,
        pipeline: str,
        source: str,
        rejected: dict[str, Rejected],
        existing: dict[str, Any],
        now: datetime,
        stats: IngestStats,
        actor: str | None,
    ) -> None:
        for key, item in rejected.items():
            stats.rejected += 1
            row = existing.get(key)
            if row is None:
                doc_id = conn.execute(documents.insert().returning(documents.c.id).values(
                    pipeline=pipeline, source=source, source_key=key, status="rejected",
                    error=item.error, revision=0, created_at=now, updated_at=now)).scalar_one()
                message = item.error
            elif row.status in ("rejected", "repull"):
                doc_id = row.id
                conn.execute(documents.update().where(documents.c.id == row.id).values(
                    status="rejected", error=item.error, updated_at=now))
                message = item.error
            else:  # a valid revision exists: keep it, tell the operator
                doc_id = row.id
                message = f"{item.error} (the stored revision {row.revision} is kept)"
            self._event(conn, "rejected", pipeline=pipeline, document_id=doc_id,
                        source_key=key, message=message, actor=actor, at=now,
                        data={"raw": _jsonable(item.raw)})

    def _verdict(
        self, conn: sa.Connection, pipeline: str, source: str, item: Verdict, now: datetime,
        actor: str | None,
    ) -> None:
        row = conn.execute(
            sa.select(deliveries.c.id, deliveries.c.document_id)
            .join(documents, documents.c.id == deliveries.c.document_id)
            .where(documents.c.source == source, documents.c.source_key == item.source_key,
                   deliveries.c.target == item.target)
        ).first()
        if row is None:
            self._event(conn, "verdict-unmatched", pipeline=pipeline, source_key=item.source_key,
                        message=f"no delivery of {item.source_key} to {item.target}", at=now,
                        actor=actor)
            return
        if item.accepted:
            self._event(conn, "confirmed", pipeline=pipeline, document_id=row.document_id,
                        delivery_id=row.id, source_key=item.source_key, at=now, actor=actor,
                        message=item.message or f"{item.target} accepted the document")
            return
        conn.execute(deliveries.update().where(deliveries.c.id == row.id).values(
            state="error", error_class="Verdict", error_code=item.code,
            error_message=item.message or f"{item.target} rejected the document",
            lease_owner=None, lease_expires_at=None, updated_at=now))
        self._event(conn, "verdict-rejected", pipeline=pipeline, document_id=row.document_id,
                    delivery_id=row.id, source_key=item.source_key, at=now, actor=actor,
                    message=item.message, data={"code": item.code, "target": item.target})

    def _save_cursor(
        self, conn: sa.Connection, pipeline: str, source: str, cursor: Cursor, now: datetime
    ) -> None:
        value = _jsonable(dict(cursor))
        stmt = self._insert(cursors).values(pipeline=pipeline, source=source, cursor=value,
                                            updated_at=now)
        conn.execute(stmt.on_conflict_do_update(
            index_elements=[cursors.c.pipeline, cursors.c.source],
            set_={"cursor": value, "updated_at": now}))

    @contextmanager
    def pull_lock(self, pipeline: str) -> Iterator[bool]:
        """Whether this process may pull `pipeline` now (PostgreSQL: one puller at a time).

        SQLite is single-node and serialises writers anyway, so it always says yes.
        """
        if self.dialect != "postgresql":
            yield True
            return
        key = zlib.crc32(f"syncd-pull:{pipeline}".encode())
        with self.engine.connect() as conn:
            got = bool(conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"),
                                    {"k": key}).scalar())
            conn.commit()
            try:
                yield got
            finally:
                if got:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()

    def cursor(self, pipeline: str, source: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(cursors.c.cursor).where(
                cursors.c.pipeline == pipeline, cursors.c.source == source)).scalar()

    # -- claims and numbers ---------------------------------------------------------------

    def claim(
        self,
        pipeline: str,
        owner: str,
        limit: int,
        lease: timedelta,
        series_for: SeriesFor,
        *,
        today: date | None = None,
        only_ids: Sequence[int] | None = None,
        targets: Sequence[str] | None = None,
    ) -> list[Claimed]:
        """Lease due deliveries (and expired leases of dead workers) and number them, at once.

        A delivery taken over from an expired lease may have reached the remote: it is marked
        in doubt so that the engine looks it up before sending.
        """
        now = utcnow()
        today = today or date.today()
        with self.tx() as conn:
            d = deliveries
            columns = (d.c.id, d.c.state, d.c.document_id, d.c.target, d.c.attempts,
                       d.c.in_doubt, d.c.resend, d.c.number, d.c.issue_date)
            scope = [d.c.pipeline == pipeline]
            if only_ids is not None:
                scope.append(d.c.id.in_(list(only_ids)))
            if targets is not None:
                scope.append(d.c.target.in_(list(targets)))
            # two index range scans on (pipeline, state, time): dead workers' leases first
            rows = conn.execute(
                sa.select(*columns).where(*scope, d.c.state == "processing",
                                          d.c.lease_expires_at < now)
                .order_by(d.c.lease_expires_at).limit(limit)
                .with_for_update(skip_locked=True)).all()
            if len(rows) < limit:
                rows += conn.execute(
                    sa.select(*columns).where(*scope, d.c.state == "waiting",
                                              d.c.next_attempt_at <= now)
                    .order_by(d.c.next_attempt_at).limit(limit - len(rows))
                    .with_for_update(skip_locked=True)).all()
            if not rows:
                return []
            rows.sort(key=lambda r: r.id)
            found = {r.id: r for r in conn.execute(
                sa.select(documents.c.id, documents.c.body, documents.c.revision)
                .where(documents.c.id.in_({r.document_id for r in rows})))}
            claimed: list[Claimed] = []
            numbering: dict[tuple[str, int, str, bool], list[tuple[Claimed, date]]] = {}
            for r in rows:
                doc = Document.model_validate_json(found[r.document_id].body)
                in_doubt = bool(r.in_doubt) or r.state == "processing"
                c = Claimed(delivery_id=r.id, document_id=r.document_id, pipeline=pipeline,
                            target=r.target, document=doc, revision=found[r.document_id].revision,
                            attempts=r.attempts, in_doubt=in_doubt, resend=bool(r.resend),
                            number=r.number)
                if r.number is not None:
                    c.document = doc.with_number(r.number, issue_date=r.issue_date)
                elif doc.number is None:
                    series = series_for(r.target, doc)
                    if series is not None:
                        issued = doc.issue_date or today
                        year = issued.year if series.yearly_reset else 0
                        check_format(series)  # before a number is spent on it
                        key = (series.name, year, series.format, series.yearly_reset)
                        numbering.setdefault(key, []).append((c, issued))
                claimed.append(c)
            assigned: dict[int, tuple[str, str, date]] = {}
            for (name, year, fmt, reset), group in sorted(numbering.items(),
                                                          key=lambda kv: kv[0][:2]):
                first = self._allocate(conn, name, year, fmt, len(group), now)
                series = NumberSeries(name, fmt, reset)
                for offset, (c, issued) in enumerate(group):
                    number = format_number(series, first + offset, issued)
                    c.number = number
                    c.document = c.document.with_number(number, issue_date=issued)
                    assigned[c.delivery_id] = (number, name, issued)
            conn.execute(
                d.update().where(d.c.id.in_([r.id for r in rows])).values(
                    # SET sees the old row: a delivery taken from a dead worker is in doubt
                    in_doubt=sa.or_(d.c.in_doubt, d.c.state == "processing"),
                    state="processing", lease_owner=owner, lease_expires_at=now + lease,
                    updated_at=now))
            if assigned:
                conn.execute(
                    d.update().where(d.c.id == sa.bindparam("b_id")).values(
                        number=sa.bindparam("b_number"), number_series=sa.bindparam("b_series"),
                        issue_date=sa.bindparam("b_issued")),
                    [{"b_id": k, "b_number": n, "b_series": s, "b_issued": i}
                     for k, (n, s, i) in assigned.items()])
            return claimed

    def _allocate(
        self, conn: sa.Connection, series: str, year: int, fmt: str, count: int, now: datetime
    ) -> int:
        """Reserve `count` consecutive numbers; the row lock makes concurrent workers queue."""
        conn.execute(self._insert(sequences).values(
            series=series, year=year, format=fmt, last_value=0, updated_at=now
        ).on_conflict_do_nothing(index_elements=[sequences.c.series, sequences.c.year]))
        last = conn.execute(
            sequences.update()
            .where(sequences.c.series == series, sequences.c.year == year)
            .values(last_value=sequences.c.last_value + count, format=fmt, updated_at=now)
            .returning(sequences.c.last_value)).scalar_one()
        return last - count + 1

    def renew(self, owner: str, ids: Sequence[int], lease: timedelta) -> None:
        if not ids:
            return
        with self.tx() as conn:
            conn.execute(deliveries.update().where(
                deliveries.c.id.in_(list(ids)), deliveries.c.lease_owner == owner,
                deliveries.c.state == "processing").values(lease_expires_at=utcnow() + lease))

    def release(self, owner: str, ids: Sequence[int] | None = None, *,
                in_doubt: bool = False) -> int:
        """Hand claimed deliveries back: waiting again, no attempt counted.

        `in_doubt=True` when they may have been attempted (cleanup after a failure): the next
        attempt then looks them up first.
        """
        now = utcnow()
        extra = {"in_doubt": True} if in_doubt else {}
        with self.tx() as conn:
            stmt = deliveries.update().where(deliveries.c.lease_owner == owner,
                                             deliveries.c.state == "processing")
            if ids is not None:
                stmt = stmt.where(deliveries.c.id.in_(list(ids)))
            result = conn.execute(stmt.values(state="waiting", lease_owner=None,
                                              lease_expires_at=None, updated_at=now, **extra))
            return result.rowcount or 0

    def finish(self, owner: str, outcomes: Sequence[Outcome]) -> None:
        """Write attempt outcomes, their history rows and events in one transaction."""
        if not outcomes:
            return
        now = utcnow()
        with self.tx() as conn:
            conn.execute(
                deliveries.update().where(deliveries.c.id == sa.bindparam("b_id"),
                                          deliveries.c.lease_owner == owner).values(
                    state=sa.bindparam("b_state"), attempts=sa.bindparam("b_attempts"),
                    next_attempt_at=sa.bindparam("b_next"), in_doubt=sa.bindparam("b_doubt"),
                    resend=False,
                    error_class=sa.bindparam("b_eclass"), error_code=sa.bindparam("b_ecode"),
                    error_message=sa.bindparam("b_emsg"), remote_ref=sa.bindparam("b_ref"),
                    remote_detail=sa.bindparam("b_detail", type_=sa.JSON),
                    delivered_revision=sa.func.coalesce(sa.bindparam("b_rev", type_=sa.Integer),
                                                        deliveries.c.delivered_revision),
                    done_at=sa.bindparam("b_done"), lease_owner=None, lease_expires_at=None,
                    updated_at=now),
                [self._outcome_params(o, now) for o in outcomes])
            self._insert_many(conn, attempts, [
                {"delivery_id": o.claimed.delivery_id, "attempt": o.claimed.attempts + 1,
                 "worker": owner, "action": o.action, "outcome": o.result,
                 "error_class": o.error_class, "error_code": o.error_code,
                 "error_message": o.error_message, "remote_ref": o.remote_ref,
                 "started_at": o.started_at, "finished_at": o.finished_at}
                for o in outcomes])
            self._insert_many(conn, events, [
                {"at": o.finished_at, "pipeline": o.claimed.pipeline, "kind": _event_kind(o),
                 "document_id": o.claimed.document_id, "delivery_id": o.claimed.delivery_id,
                 "source_key": o.claimed.document.source_key, "actor": owner,
                 "message": _event_message(o), "data": {"target": o.claimed.target,
                                                        "number": o.claimed.number}}
                for o in outcomes])

    @staticmethod
    def _outcome_params(o: Outcome, now: datetime) -> dict[str, Any]:
        done = o.state == "done"
        current = o.claimed
        return {
            "b_id": current.delivery_id,
            "b_state": o.state,
            "b_attempts": current.attempts + 1,
            "b_next": o.next_attempt_at or now,
            "b_doubt": o.in_doubt,
            "b_eclass": None if done else o.error_class,
            "b_ecode": None if done else o.error_code,
            "b_emsg": None if done else o.error_message,
            "b_ref": o.remote_ref,
            "b_detail": o.remote_detail,
            # a refused resend sent nothing: the delivered revision stays what it was
            "b_rev": current.revision if done and o.result != "refused" else None,
            "b_done": o.finished_at if done else None,
        }

    # -- operator actions -----------------------------------------------------------------

    def reset(self, ids: Sequence[int], actor: str) -> list[str]:
        """error -> waiting (attempts start over); a rejected document waits for a re-pull."""
        messages = []
        now = utcnow()
        with self.tx() as conn:
            for doc in self._documents(conn, ids):
                if doc.status == "rejected":
                    conn.execute(documents.update().where(documents.c.id == doc.id).values(
                        status="repull", updated_at=now))
                    text = (f"document {doc.id} ({doc.source_key}): waits for the source to "
                            "send it again (next pull, or `syncd reload` of its dates)")
                else:
                    result = conn.execute(deliveries.update().where(
                        deliveries.c.document_id == doc.id, deliveries.c.state == "error"
                    ).values(state="waiting", attempts=0, next_attempt_at=now, updated_at=now))
                    if not result.rowcount:
                        messages.append(f"document {doc.id} ({doc.source_key}): nothing in "
                                        "error, unchanged")
                        continue
                    text = f"document {doc.id} ({doc.source_key}): {result.rowcount} " \
                           "delivery(ies) waiting again"
                self._event(conn, "reset", pipeline=doc.pipeline, document_id=doc.id,
                            source_key=doc.source_key, actor=actor, message=text, at=now)
                messages.append(text)
        return messages

    def mark_manual(self, ids: Sequence[int], actor: str) -> list[str]:
        """The operator imported it by hand: open deliveries become `manual`, never sent."""
        messages = []
        now = utcnow()
        with self.tx() as conn:
            for doc in self._documents(conn, ids):
                busy = conn.execute(sa.select(sa.func.count()).where(
                    deliveries.c.document_id == doc.id,
                    deliveries.c.state == "processing")).scalar_one()
                if busy:
                    messages.append(f"document {doc.id} ({doc.source_key}): a delivery is in "
                                    "progress; try again when it has finished")
                    continue
                result = conn.execute(deliveries.update().where(
                    deliveries.c.document_id == doc.id,
                    deliveries.c.state.in_(("waiting", "error"))
                ).values(state="manual", updated_at=now, done_at=now))
                changed = result.rowcount or 0
                if doc.status in ("rejected", "repull"):
                    conn.execute(documents.update().where(documents.c.id == doc.id).values(
                        status="manual", updated_at=now))
                    changed += 1
                if not changed:
                    messages.append(f"document {doc.id} ({doc.source_key}): nothing open, "
                                    "unchanged")
                    continue
                text = f"document {doc.id} ({doc.source_key}): marked manually imported"
                self._event(conn, "manual", pipeline=doc.pipeline, document_id=doc.id,
                            source_key=doc.source_key, actor=actor, message=text, at=now)
                messages.append(text)
        return messages

    def queue_resend(self, delivery_ids: Sequence[int], actor: str) -> None:
        """done -> waiting for a deliberate second delivery (the operator removed the first)."""
        now = utcnow()
        with self.tx() as conn:
            rows = conn.execute(sa.select(deliveries.c.id, deliveries.c.document_id,
                                          deliveries.c.pipeline, deliveries.c.target)
                                .where(deliveries.c.id.in_(list(delivery_ids)),
                                       deliveries.c.state == "done")).all()
            for r in rows:
                conn.execute(deliveries.update().where(deliveries.c.id == r.id).values(
                    state="waiting", resend=True, in_doubt=True, attempts=0,
                    next_attempt_at=now, updated_at=now))
                self._event(conn, "resend", pipeline=r.pipeline, document_id=r.document_id,
                            delivery_id=r.id, actor=actor, at=now,
                            message=f"resend to {r.target} requested")

    def _documents(self, conn: sa.Connection, ids: Sequence[int]) -> list[Any]:
        rows = {r.id: r for r in conn.execute(
            sa.select(documents.c.id, documents.c.pipeline, documents.c.source_key,
                      documents.c.status).where(documents.c.id.in_(list(ids))))}
        missing = [i for i in ids if i not in rows]
        if missing:
            raise NotFound(f"no document with id {', '.join(map(str, missing))}")
        return [rows[i] for i in ids]

    def event(self, kind: str, **fields: Any) -> None:
        with self.tx() as conn:
            self._event(conn, kind, **fields)

    def _event(self, conn: sa.Connection, kind: str, *, at: datetime | None = None,
               **fields: Any) -> None:
        conn.execute(events.insert().values(kind=kind, at=at or utcnow(), **fields))

    # -- runs and reloads -----------------------------------------------------------------

    def record_run(self, pipeline: str, started: datetime, finished: datetime | None,
                   next_run: datetime | None, summary: dict[str, Any] | None) -> None:
        values = {"last_started_at": started, "last_finished_at": finished,
                  "next_run_at": next_run, "last_summary": summary}
        with self.tx() as conn:
            conn.execute(self._insert(runs).values(pipeline=pipeline, **values)
                         .on_conflict_do_update(index_elements=[runs.c.pipeline], set_=values))

    def runs(self) -> dict[str, Any]:
        with self.engine.connect() as conn:
            return {r.pipeline: r for r in conn.execute(sa.select(runs))}

    def start_reload(self, pipeline: str, start: date, end: date, actor: str) -> Any:
        """The unfinished reload of exactly this range (resume), else a new one."""
        now = utcnow()
        with self.tx() as conn:
            row = conn.execute(sa.select(reloads).where(
                reloads.c.pipeline == pipeline, reloads.c.start == start, reloads.c.end == end,
                reloads.c.state == "running").order_by(reloads.c.id.desc())).first()
            if row is not None:
                return row
            rid = conn.execute(reloads.insert().returning(reloads.c.id).values(
                pipeline=pipeline, start=start, end=end, done_until=start, documents=0,
                state="running", actor=actor, created_at=now, updated_at=now)).scalar_one()
            self._event(conn, "reload", pipeline=pipeline, actor=actor, at=now,
                        message=f"reload {start} .. {end} started",
                        data={"start": start.isoformat(), "end": end.isoformat()})
            return conn.execute(sa.select(reloads).where(reloads.c.id == rid)).one()

    def finish_reload(self, reload_id: int) -> None:
        with self.tx() as conn:
            conn.execute(reloads.update().where(reloads.c.id == reload_id).values(
                state="done", updated_at=utcnow()))

    # -- queries for the CLI --------------------------------------------------------------

    def counts(self) -> dict[str, dict[str, int]]:
        """Deliveries per pipeline and state, plus rejected documents as `rejected`."""
        out: dict[str, dict[str, int]] = {}
        with self.engine.connect() as conn:
            for r in conn.execute(sa.select(deliveries.c.pipeline, deliveries.c.state,
                                            sa.func.count()).group_by(deliveries.c.pipeline,
                                                                      deliveries.c.state)):
                out.setdefault(r[0], {})[r[1]] = r[2]
            for r in conn.execute(sa.select(documents.c.pipeline, documents.c.status,
                                            sa.func.count())
                                  .where(documents.c.status.in_(("rejected", "repull")))
                                  .group_by(documents.c.pipeline, documents.c.status)):
                out.setdefault(r[0], {})[r[1]] = r[2]
        return out

    def cursors(self) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(cursors).order_by(cursors.c.pipeline)))

    def list_documents(self, state: str | None = None, pipeline: str | None = None,
                       limit: int = 200) -> list[dict[str, Any]]:
        """Documents with their overall state: error beats waiting beats manual beats done."""
        d = deliveries
        open_states = ("waiting", "processing")
        has = lambda states: sa.exists().where(  # noqa: E731
            d.c.document_id == documents.c.id, d.c.state.in_(states))
        query = sa.select(documents.c.id, documents.c.pipeline, documents.c.source_key,
                          documents.c.kind, documents.c.status, documents.c.error,
                          documents.c.revision, documents.c.updated_at)
        if pipeline:
            query = query.where(documents.c.pipeline == pipeline)
        if state == "error":
            query = query.where(sa.or_(documents.c.status == "rejected", has(("error",))))
        elif state == "waiting":
            query = query.where(sa.or_(documents.c.status == "repull",
                                       sa.and_(~has(("error",)), has(open_states))))
        elif state == "manual":
            query = query.where(sa.or_(documents.c.status == "manual", sa.and_(
                documents.c.status == "ok", has(("manual",)),
                ~has(("error", *open_states)))))
        elif state == "done":
            query = query.where(documents.c.status == "ok", has(("done",)),
                                ~has(("error", "manual", *open_states)))
        elif state is not None:
            raise SyncdError(f"unknown state {state!r}; use waiting, error, done or manual")
        query = query.order_by(documents.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            states: dict[int, list[Any]] = {}
            for r in conn.execute(sa.select(d.c.document_id, d.c.target, d.c.state,
                                            d.c.number, d.c.error_message)
                                  .where(d.c.document_id.in_([r.id for r in rows]))):
                states.setdefault(r.document_id, []).append(r)
        out = []
        for r in rows:
            dels = states.get(r.id, [])
            out.append({
                "id": r.id, "pipeline": r.pipeline, "source_key": r.source_key,
                "kind": r.kind, "revision": r.revision,
                "state": overall_state(r.status, [x.state for x in dels]),
                "numbers": sorted({x.number for x in dels if x.number}),
                "error": r.error or next((x.error_message for x in dels
                                          if x.state == "error"), None),
                "targets": {x.target: x.state for x in dels},
                "updated_at": r.updated_at.isoformat(timespec="seconds"),
            })
        return out

    def document_detail(self, doc_id: int) -> dict[str, Any]:
        with self.engine.connect() as conn:
            doc = conn.execute(sa.select(documents).where(documents.c.id == doc_id)).first()
            if doc is None:
                raise NotFound(f"no document with id {doc_id}")
            dels = conn.execute(sa.select(deliveries).where(deliveries.c.document_id == doc_id)
                                .order_by(deliveries.c.id)).all()
            hist = conn.execute(sa.select(attempts).where(
                attempts.c.delivery_id.in_([x.id for x in dels])).order_by(attempts.c.id)).all()
            revs = conn.execute(sa.select(revisions.c.revision, revisions.c.content_hash,
                                          revisions.c.created_at)
                                .where(revisions.c.document_id == doc_id)
                                .order_by(revisions.c.revision)).all()
            evs = conn.execute(sa.select(events).where(events.c.document_id == doc_id)
                               .order_by(events.c.id)).all()
        return {
            "id": doc.id, "pipeline": doc.pipeline, "source": doc.source,
            "source_key": doc.source_key, "kind": doc.kind, "status": doc.status,
            "error": doc.error, "revision": doc.revision, "content_hash": doc.content_hash,
            "state": overall_state(doc.status, [x.state for x in dels]),
            "document": json.loads(doc.body) if doc.body else None,
            "revisions": [_row(r) for r in revs],
            "deliveries": [
                {**_row(x, exclude={"remote_detail"}),
                 "attempt_history": [_row(a) for a in hist if a.delivery_id == x.id]}
                for x in dels],
            "events": [_row(e) for e in evs],
        }

    def deliveries_of(self, doc_ids: Sequence[int], states: Sequence[str]) -> list[Any]:
        """The deliveries of these documents that are in one of `states`."""
        with self.engine.connect() as conn:
            self._documents(conn, doc_ids)
            return list(conn.execute(
                sa.select(deliveries.c.id, deliveries.c.document_id, deliveries.c.pipeline,
                          deliveries.c.target, deliveries.c.state)
                .where(deliveries.c.document_id.in_(list(doc_ids)),
                       deliveries.c.state.in_(list(states)))
                .order_by(deliveries.c.id)))

    def events(self, pipeline: str | None = None, since: datetime | None = None,
               limit: int = 200, document_id: int | None = None) -> list[dict[str, Any]]:
        query = sa.select(events).order_by(events.c.id.desc()).limit(limit)
        if pipeline:
            query = query.where(events.c.pipeline == pipeline)
        if since:
            query = query.where(events.c.at >= since)
        if document_id is not None:
            query = query.where(events.c.document_id == document_id)
        with self.engine.connect() as conn:
            return [_row(r) for r in reversed(conn.execute(query).all())]

    def number_of(self, source: str, source_key: str) -> str | None:
        """The number the engine allocated for a document (a delivered one first)."""
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(deliveries.c.number)
                .join(documents, documents.c.id == deliveries.c.document_id)
                .where(documents.c.source == source, documents.c.source_key == source_key,
                       deliveries.c.number.is_not(None))
                .order_by((deliveries.c.state == "done").desc(), deliveries.c.id)
                .limit(1)).scalar()

    def error_count(self, pipeline: str) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).where(
                deliveries.c.pipeline == pipeline, deliveries.c.state == "error")).scalar_one()

    def next_due(self, pipeline: str) -> datetime | None:
        """When the earliest waiting delivery of `pipeline` becomes due (for the scheduler)."""
        with self.engine.connect() as conn:
            waiting = conn.execute(sa.select(sa.func.min(deliveries.c.next_attempt_at)).where(
                deliveries.c.pipeline == pipeline, deliveries.c.state == "waiting")).scalar()
            leased = conn.execute(sa.select(sa.func.min(deliveries.c.lease_expires_at)).where(
                deliveries.c.pipeline == pipeline, deliveries.c.state == "processing")).scalar()
        found = [t for t in (waiting, leased) if t is not None]
        return min(found) if found else None


def overall_state(status: str, states: Sequence[str]) -> str:
    if status == "rejected":
        return "error"
    if status == "repull":
        return "waiting"
    if status == "manual":
        return "manual"
    for state in ("error", "processing", "waiting", "manual"):
        if state in states:
            return "waiting" if state == "processing" else state
    return "done" if states else "waiting"


def _event_kind(o: Outcome) -> str:
    if o.state == "done":
        return "delivered" if o.result == "done" else "found-existing"
    return "retry" if o.state == "waiting" else "error"


def _event_message(o: Outcome) -> str:
    target = o.claimed.target
    if o.state == "done":
        verb = "delivered to" if o.result == "done" else "already on"
        return f"{verb} {target} as {o.remote_ref}"
    text = f"{target}: {o.error_class}: {o.error_message}"
    if o.state == "waiting" and o.next_attempt_at:
        text += f" (retry at {o.next_attempt_at.isoformat(timespec='seconds')}Z)"
    return text


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _row(row: Any, exclude: set[str] | None = None) -> dict[str, Any]:
    out = {}
    for key, value in row._mapping.items():
        if exclude and key in exclude:
            continue
        out[key] = value.isoformat() if isinstance(value, datetime | date) else value
    return out
