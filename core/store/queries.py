"""Read queries for the CLI and the dashboard: typed rows, keyset pagination, no writes."""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from syncd.errors import SyncdError
from syncd.store.base import StoreBase, as_dict
from syncd.store.schema import (
    attempts,
    cursors,
    deliveries,
    delivery_steps,
    documents,
    events,
    revisions,
)
from syncd.store.types import (
    DayCount,
    DeliveryRow,
    DocumentRow,
    EventRow,
    NotFound,
    Page,
    overall_state,
    utcnow,
)

LIST_STATES = ("waiting", "error", "done", "manual", "revised")
SEARCH_KEY_LENGTH = 300


def search_key(text: str | None) -> str | None:
    """A name as stored for, and looked up by, the dashboard's prefix search: whitespace
    collapsed and casefolded in Python, so both backends agree (SQLite's lower() knows ASCII
    only)."""
    key = " ".join((text or "").split()).casefold()[:SEARCH_KEY_LENGTH]
    return key or None


def search_fields(order_id: str | None, name: str | None,
                  company: str | None) -> dict[str, str | None]:
    """The `documents` search columns for a document's order id and buyer."""
    return {"order_id": (order_id or "").strip()[:200] or None,
            "buyer_name": search_key(name), "buyer_company": search_key(company)}


def document_search_fields(doc: Any) -> dict[str, str | None]:
    """`search_fields` of a `syncd.model.Document` (ingest and revisions fill them), and its
    shipping id, which `LinkMatch` resolves by."""
    return {**search_fields(doc.references.order_id, doc.buyer.name, doc.buyer.company),
            "shipping_id": reference_key(doc.references.shipping_id)}


def reference_key(value: str | None) -> str | None:
    """A reference id as the `documents` columns keep it (stripped, at most 200 characters)."""
    return (value or "").strip()[:200] or None


class QueriesMixin(StoreBase):
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
                       target: str | None = None, search: str | None = None,
                       after_key: int | None = None, limit: int = 200) -> Page[DocumentRow]:
        """Newest first, `limit` per page; the state is the worst of the deliveries'
        (error beats revised beats waiting beats manual beats done)."""
        d = deliveries
        open_states = ("waiting", "processing")

        def has(states: Sequence[str]) -> Any:
            return sa.exists().where(d.c.document_id == documents.c.id, d.c.state.in_(states))

        query = sa.select(documents.c.id, documents.c.pipeline, documents.c.source,
                          documents.c.source_key, documents.c.kind, documents.c.status,
                          documents.c.error, documents.c.revision, documents.c.number,
                          documents.c.issue_date, documents.c.updated_at)
        if pipeline:
            query = query.where(sa.or_(documents.c.pipeline == pipeline, sa.exists().where(
                d.c.document_id == documents.c.id, d.c.pipeline == pipeline)))
        if target:
            query = query.where(sa.exists().where(d.c.document_id == documents.c.id,
                                                  d.c.target == target))
        if search:
            like = f"%{search}%"
            query = query.where(sa.or_(documents.c.source_key.like(like),
                                       documents.c.number.like(like)))
        if after_key is not None:
            query = query.where(documents.c.id < after_key)
        if state == "error":
            query = query.where(sa.or_(documents.c.status == "rejected", has(("error",))))
        elif state == "revised":
            query = query.where(documents.c.status == "ok", has(("revised",)), ~has(("error",)))
        elif state == "waiting":
            query = query.where(sa.or_(documents.c.status == "repull", sa.and_(
                ~has(("error", "revised")), has(open_states))))
        elif state == "manual":
            query = query.where(sa.or_(documents.c.status == "manual", sa.and_(
                documents.c.status == "ok", has(("manual",)),
                ~has(("error", "revised", *open_states)))))
        elif state == "done":
            query = query.where(documents.c.status == "ok", has(("done",)),
                                ~has(("error", "manual", "revised", *open_states)))
        elif state is not None:
            raise SyncdError(f"unknown state {state!r}; use {', '.join(LIST_STATES)}")
        query = query.order_by(documents.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            per_doc: dict[int, list[DeliveryRow]] = {}
            if rows:
                for r in conn.execute(sa.select(
                        d.c.document_id, d.c.id, d.c.pipeline, d.c.target, d.c.state,
                        d.c.attempts, d.c.step, d.c.remote_ref, d.c.error_message,
                        d.c.waiting_for).where(d.c.document_id.in_([r.id for r in rows]))
                        .order_by(d.c.id)):
                    per_doc.setdefault(r.document_id, []).append(DeliveryRow(
                        r.id, r.pipeline, r.target, r.state, r.attempts, r.step, r.remote_ref,
                        r.error_message, r.waiting_for))
        items = []
        for r in rows:
            dels = tuple(per_doc.get(r.id, ()))
            error = r.error or next((x.error_message for x in dels if x.state == "error"),
                                    None)
            items.append(DocumentRow(
                id=r.id, pipeline=r.pipeline, source=r.source, source_key=r.source_key,
                kind=r.kind, number=r.number, issue_date=r.issue_date, revision=r.revision,
                state=overall_state(r.status, [x.state for x in dels]), error=error,
                updated_at=r.updated_at, deliveries=dels))
        return Page(items, items[-1].id if len(items) == limit else None)

    def document_detail(self, doc_id: int) -> dict[str, Any]:
        """Everything about one document as JSON-able data (the CLI's `documents show`)."""
        with self.engine.connect() as conn:
            doc = conn.execute(sa.select(documents).where(documents.c.id == doc_id)).first()
            if doc is None:
                raise NotFound(f"no document with id {doc_id}")
            dels = conn.execute(sa.select(deliveries).where(deliveries.c.document_id == doc_id)
                                .order_by(deliveries.c.id)).all()
            ids = [x.id for x in dels]
            hist = conn.execute(sa.select(attempts).where(attempts.c.delivery_id.in_(ids))
                                .order_by(attempts.c.id)).all()
            steps = conn.execute(sa.select(delivery_steps).where(
                delivery_steps.c.delivery_id.in_(ids)).order_by(delivery_steps.c.position)).all()
            revs = conn.execute(sa.select(revisions.c.revision, revisions.c.content_hash,
                                          revisions.c.created_at, revisions.c.body)
                                .where(revisions.c.document_id == doc_id)
                                .order_by(revisions.c.revision)).all()
            evs = conn.execute(sa.select(events).where(events.c.document_id == doc_id)
                               .order_by(events.c.id)).all()
        bodies = {r.revision: r.body for r in revs}
        bodies[doc.revision] = doc.body
        return {
            "id": doc.id, "pipeline": doc.pipeline, "source": doc.source,
            "source_key": doc.source_key, "kind": doc.kind, "status": doc.status,
            "error": doc.error, "revision": doc.revision, "content_hash": doc.content_hash,
            "number": doc.number, "number_series": doc.number_series,
            "issue_date": doc.issue_date.isoformat() if doc.issue_date else None,
            "state": overall_state(doc.status, [x.state for x in dels]),
            "document": json.loads(doc.body) if doc.body else None,
            "revisions": [as_dict(r, exclude={"body"}) for r in revs],
            "deliveries": [
                {**as_dict(x, exclude={"remote_detail"}),
                 "steps": [as_dict(s, exclude={"delivery_id"}) for s in steps
                           if s.delivery_id == x.id],
                 "diff": _diff(bodies, x.delivered_revision, doc.revision)
                 if x.state == "revised" else None,
                 "attempt_history": [as_dict(a) for a in hist if a.delivery_id == x.id]}
                for x in dels],
            "events": [as_dict(e) for e in evs],
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
        """The newest `limit` events, oldest first, as JSON-able dicts (the CLI)."""
        page = self.event_page(pipeline=pipeline, since=since, limit=limit,
                               document_id=document_id)
        return [_event_dict(e) for e in reversed(page.items)]

    def event_page(self, pipeline: str | None = None, since: datetime | None = None,
                   document_id: int | None = None, kind: str | None = None,
                   after_key: int | None = None, limit: int = 200) -> Page[EventRow]:
        """Events newest first, keyset-paginated by id."""
        query = sa.select(events).order_by(events.c.id.desc()).limit(limit)
        if pipeline:
            query = query.where(events.c.pipeline == pipeline)
        if since:
            query = query.where(events.c.at >= since)
        if document_id is not None:
            query = query.where(events.c.document_id == document_id)
        if kind:
            query = query.where(events.c.kind == kind)
        if after_key is not None:
            query = query.where(events.c.id < after_key)
        with self.engine.connect() as conn:
            items = [EventRow(r.id, r.at, r.pipeline, r.kind, r.document_id, r.delivery_id,
                              r.source_key, r.actor, r.message, r.data)
                     for r in conn.execute(query)]
        return Page(items, items[-1].id if len(items) == limit else None)

    def per_day(self, pipeline: str | None = None, days: int = 14) -> list[DayCount]:
        """Deliveries done / failed per UTC day for the last `days` days (oldest first)."""
        start = (utcnow() - timedelta(days=days - 1)).date()
        since = datetime.combine(start, datetime.min.time())
        query = sa.select(attempts.c.finished_at, attempts.c.outcome).where(
            attempts.c.finished_at >= since)
        if pipeline:
            query = query.join(deliveries, deliveries.c.id == attempts.c.delivery_id).where(
                deliveries.c.pipeline == pipeline)
        done: dict[date, int] = {}
        failed: dict[date, int] = {}
        with self.engine.connect() as conn:
            for at, outcome in conn.execute(query):
                bucket = done if outcome in ("done", "found") else \
                    failed if outcome == "permanent" else None
                if bucket is not None:
                    bucket[at.date()] = bucket.get(at.date(), 0) + 1
        return [DayCount(start + timedelta(days=i), done.get(start + timedelta(days=i), 0),
                         failed.get(start + timedelta(days=i), 0)) for i in range(days)]

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


def _diff(bodies: dict[int, str | None], delivered: int | None, current: int) -> str | None:
    """Unified diff of the delivered revision's content against the current one."""
    old = bodies.get(delivered) if delivered is not None else None
    new = bodies.get(current)
    if old is None or new is None:
        return None

    def pretty(body: str) -> list[str]:
        data = json.loads(body)
        data.pop("number", None)
        return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False).splitlines()

    return "\n".join(difflib.unified_diff(pretty(old), pretty(new),
                                          f"revision {delivered} (delivered)",
                                          f"revision {current}", lineterm="", n=1))


def _event_dict(e: EventRow) -> dict[str, Any]:
    return {"id": e.id, "at": e.at.isoformat(), "pipeline": e.pipeline, "kind": e.kind,
            "document_id": e.document_id, "delivery_id": e.delivery_id,
            "source_key": e.source_key, "actor": e.actor, "message": e.message, "data": e.data}
