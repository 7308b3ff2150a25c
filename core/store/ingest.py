"""Pulls: documents, their deliveries, revisions, rejections, verdicts and the cursor together.

A batch is one transaction. Inline attachment bytes move into the content-addressed blob table
here, so the stored body (and its content hash) holds only their sha256 and size.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from syncd.connectors import Cursor, Rejected, Skipped, Verdict
from syncd.model import Document
from syncd.store.base import jsonable
from syncd.store.links import unblock_awaiting
from syncd.store.queries import document_search_fields
from syncd.store.schema import (
    blobs,
    cursors,
    deliveries,
    delivery_steps,
    documents,
    reloads,
    revisions,
)
from syncd.store.types import CHUNK, IngestStats, utcnow
from syncd.store.verdicts import VerdictsMixin


def by_reference(doc: Document, found: dict[str, bytes]) -> Document:
    """`doc` with inline attachment bytes replaced by sha256 + size (bytes go to `found`)."""
    if not any(a.data is not None for a in doc.attachments):
        return doc
    out = []
    for a in doc.attachments:
        if a.data is None:
            out.append(a)
            continue
        digest = hashlib.sha256(a.data).hexdigest()
        found[digest] = a.data
        out.append(a.model_copy(update={"data": None, "sha256": digest, "size": len(a.data)}))
    return doc.model_copy(update={"attachments": tuple(out)})


class IngestMixin(VerdictsMixin):
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
        in_place: Collection[str] = (),
    ) -> IngestStats:
        """Commit one batch: documents, their deliveries, events and the cursor together.

        `in_place` names the targets that update a delivered document in place: a revision
        of a `done` document is re-sent there instead of waiting in `revised`.
        """
        docs: dict[str, Document] = {}
        rejected: dict[str, Rejected] = {}
        other: list[Any] = []
        found: dict[str, bytes] = {}
        for item in items:
            if isinstance(item, Document):
                docs[item.source_key] = by_reference(item, found)
                rejected.pop(item.source_key, None)
            elif isinstance(item, Rejected):
                rejected[item.source_key] = item
                docs.pop(item.source_key, None)
            else:
                other.append(item)
        for attempt in range(3):
            try:
                stats = self._ingest(pipeline, source, targets, docs, rejected, other, cursor,
                                     store_cursor, reload_id, reload_done_until, actor,
                                     in_place, found)
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

    def _ingest(self, pipeline: str, source: str, targets: Sequence[str],
                docs: dict[str, Document], rejected: dict[str, Rejected], other: list[Any],
                cursor: Cursor | None, store_cursor: bool, reload_id: int | None,
                reload_done_until: date | None, actor: str | None, in_place: Collection[str],
                found: dict[str, bytes]) -> IngestStats:
        stats = IngestStats()
        now = utcnow()
        with self.tx() as conn:
            if found:
                self._put_blobs(conn, found, now)
            existing = self._existing(conn, source, list(docs) + list(rejected))
            self._ingest_documents(conn, pipeline, source, targets, docs, existing, now, stats,
                                   in_place)
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

    def _put_blobs(self, conn: sa.Connection, found: dict[str, bytes], now: datetime) -> None:
        for digest, data in found.items():
            conn.execute(self._insert(blobs).values(
                sha256=digest, size=len(data), data=data, created_at=now
            ).on_conflict_do_nothing(index_elements=[blobs.c.sha256]))

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

    def _ingest_documents(self, conn: sa.Connection, pipeline: str, source: str,
                          targets: Sequence[str], docs: dict[str, Document],
                          existing: dict[str, Any], now: datetime, stats: IngestStats,
                          in_place: Collection[str]) -> None:
        fresh = [d for k, d in docs.items() if k not in existing]
        if fresh:
            rows = [
                {"pipeline": pipeline, "source": source, "source_key": d.source_key,
                 "kind": d.kind.value, "status": "ok", "error": None, "revision": 1,
                 "content_hash": d.content_hash, "body": d.model_dump_json(),
                 # a document that arrives numbered keeps its number
                 "number": d.number, "number_series": None,
                 "issue_date": d.issue_date if d.number else None,
                 "created_at": now, "updated_at": now, **document_search_fields(d)}
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
            matched: dict[tuple[str, str], int] = {}
            for r, doc_id in zip(rows, ids, strict=True):
                if r["shipping_id"]:
                    matched.setdefault((r["kind"], r["shipping_id"]), doc_id)
            unblock_awaiting(conn, source, ids_by_key, matched)
            stats.new += len(fresh)
        unchanged: list[int] = []
        for key, doc in docs.items():
            row = existing.get(key)
            if row is None:
                continue
            if row.status == "ok" and row.content_hash == doc.content_hash:
                stats.unchanged += 1
                unchanged.append(row.id)
                continue
            stats.revised += 1
            self._revise(conn, pipeline, targets, row, doc, now, in_place)
        if unchanged:
            self._add_missing_deliveries(conn, pipeline, targets, unchanged, now)

    def _add_missing_deliveries(self, conn: sa.Connection, pipeline: str,
                                targets: Sequence[str], ids: list[int], now: datetime) -> None:
        """Another pipeline (or a target added since) reads a known document: its own
        deliveries are added; a target that already has the document keeps its delivery."""
        have: set[tuple[int, str]] = set()
        for i in range(0, len(ids), CHUNK):
            have.update(tuple(row) for row in conn.execute(
                sa.select(deliveries.c.document_id, deliveries.c.target)
                .where(deliveries.c.document_id.in_(ids[i:i + CHUNK]))))
        missing = [(i, t) for i in ids for t in targets if (i, t) not in have]
        if missing:
            self._insert_many(conn, deliveries, [
                self._delivery_row(i, pipeline, t, now, "waiting") for i, t in missing])

    @staticmethod
    def _delivery_row(doc_id: int, pipeline: str, target: str, now: datetime,
                      state: str) -> dict[str, Any]:
        return {"document_id": doc_id, "pipeline": pipeline, "target": target, "state": state,
                "attempts": 0, "next_attempt_at": now, "in_doubt": False, "resend": False,
                "created_at": now, "updated_at": now}

    def _add_deliveries(self, conn: sa.Connection, pipeline: str, targets: Sequence[str],
                        ids: Sequence[int], now: datetime, state: str = "waiting") -> None:
        if ids and targets:
            self._insert_many(conn, deliveries, [
                self._delivery_row(i, pipeline, t, now, state) for i in ids for t in targets])

    def _revise(self, conn: sa.Connection, pipeline: str, targets: Sequence[str], row: Any,
                doc: Document, now: datetime, in_place: Collection[str]) -> None:
        """A changed (or finally valid) document: keep every revision; a delivery already on
        the remote goes to `revised` for the operator (or is re-sent where the target updates
        in place); waiting ones carry on with the new content. The number stays."""
        revision = row.revision + 1
        # the current revision's body lives in documents.body; keep a copy before replacing it
        conn.execute(revisions.update().where(
            revisions.c.document_id == row.id, revisions.c.revision == row.revision,
            revisions.c.body.is_(None)).values(
            body=sa.select(documents.c.body).where(documents.c.id == row.id).scalar_subquery()))
        values: dict[str, Any] = {"status": "ok", "error": None, "revision": revision,
                                  "content_hash": doc.content_hash,
                                  "body": doc.model_dump_json(), "kind": doc.kind.value,
                                  "updated_at": now, **document_search_fields(doc)}
        if doc.number:
            values.update(number=doc.number, issue_date=doc.issue_date)
        conn.execute(documents.update().where(documents.c.id == row.id).values(**values))
        conn.execute(revisions.insert().values(
            document_id=row.id, revision=revision, content_hash=doc.content_hash, body=None,
            created_at=now))
        present = {r.target: r for r in conn.execute(
            sa.select(deliveries.c.id, deliveries.c.target, deliveries.c.state)
            .where(deliveries.c.document_id == row.id))}
        restart = [r.id for r in present.values() if r.state in ("waiting", "error")]
        if restart:
            conn.execute(deliveries.update().where(deliveries.c.id.in_(restart)).values(
                state="waiting", attempts=0, next_attempt_at=now, error_class=None,
                error_code=None, error_message=None, updated_at=now))
        resend = [r.id for t, r in present.items() if r.state == "done" and t in in_place]
        if resend:
            conn.execute(delivery_steps.delete().where(delivery_steps.c.delivery_id.in_(resend)))
            conn.execute(deliveries.update().where(deliveries.c.id.in_(resend)).values(
                state="waiting", attempts=0, next_attempt_at=now, resend=False, in_doubt=False,
                updated_at=now))
        held = [r.id for t, r in present.items() if r.state == "done" and t not in in_place]
        if held:
            conn.execute(deliveries.update().where(deliveries.c.id.in_(held)).values(
                state="revised", updated_at=now))
        # an operator who imported a rejected document by hand keeps it manual
        self._add_deliveries(conn, pipeline, [t for t in targets if t not in present],
                             [row.id], now, "manual" if row.status == "manual" else "waiting")
        kept = sorted(t for t, r in present.items()
                      if r.state in ("done", "revised") and t not in in_place)
        message = f"revision {revision} stored"
        if kept:
            message += (f"; already delivered to {', '.join(kept)}: state revised, not sent "
                        "again (`syncd documents show` has the diff; `documents resend` or "
                        "`documents keep` decides)")
        updated = sorted(t for t, r in present.items() if r.state == "done" and t in in_place)
        if updated:
            message += f"; updated in place at {', '.join(updated)}"
        self._event(conn, "revised", pipeline=pipeline, document_id=row.id,
                    source_key=doc.source_key, message=message, at=now,
                    data={"revision": revision, "kept": kept, "updated": updated})

    def _ingest_rejected(self, conn: sa.Connection, pipeline: str, source: str,
                         rejected: dict[str, Rejected], existing: dict[str, Any], now: datetime,
                         stats: IngestStats, actor: str | None) -> None:
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
                        data={"raw": jsonable(item.raw)})

    def _save_cursor(self, conn: sa.Connection, pipeline: str, source: str, cursor: Cursor,
                     now: datetime) -> None:
        value = jsonable(dict(cursor))
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

