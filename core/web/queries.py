"""The dashboard's reads besides the lists (`syncd.web.lists`): per-day counts, events.

A thin layer over `syncd.store.schema`, read-only, so the pages never hold a write
transaction. Events page by id (newest first), never by OFFSET.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from syncd.store import Store, overall_state
from syncd.store.schema import deliveries, documents, events
from syncd.web import reads


def per_day(store: Store, days: int = 30, pipeline: str | None = None,
            today: date | None = None) -> dict[date, dict[str, int]]:
    """Deliveries per day (the day syncd received the document) and state, `days` back."""
    with reads.connect(store) as conn:
        return per_day_on(conn, days, pipeline, today)


def per_day_on(conn: sa.Connection, days: int = 30, pipeline: str | None = None,
               today: date | None = None) -> dict[date, dict[str, int]]:
    """`per_day` on an open connection."""
    today = today or datetime.utcnow().date()
    start = datetime.combine(today - timedelta(days=days - 1), datetime.min.time())
    day = sa.func.date(deliveries.c.created_at)
    query = (sa.select(day, deliveries.c.state, sa.func.count())
             .where(deliveries.c.created_at >= start).group_by(day, deliveries.c.state))
    if pipeline:
        query = query.where(deliveries.c.pipeline == pipeline)
    out: dict[date, dict[str, int]] = {today - timedelta(days=i): {}
                                       for i in range(days - 1, -1, -1)}
    for d, state, n in conn.execute(query):
        key = d if isinstance(d, date) else date.fromisoformat(str(d)[:10])
        out.setdefault(key, {})[state] = n
    return out


def _doc_date(dialect: str) -> Any:
    """The document's own day (issue date, else order date) from its stored JSON; a rejected
    document has no body and counts on the day it arrived."""
    if dialect == "postgresql":
        body = sa.cast(documents.c.body, sa.JSON)
        return sa.func.coalesce(body["issue_date"].as_string(), body["order_date"].as_string(),
                                sa.cast(sa.cast(documents.c.created_at, sa.Date), sa.String))
    return sa.func.coalesce(sa.func.json_extract(documents.c.body, "$.issue_date"),
                            sa.func.json_extract(documents.c.body, "$.order_date"),
                            sa.func.date(documents.c.created_at))


def days_by_kind(store: Store, pipeline: str, start: date, end: date) -> list[dict[str, Any]]:
    """Xentral's Logs tab: per document day and kind, total / imported / waiting / error."""
    day = _doc_date(store.dialect)
    query = (sa.select(day.label("day"), documents.c.kind, documents.c.id, documents.c.status,
                       deliveries.c.state)
             .select_from(documents.outerjoin(deliveries,
                                              deliveries.c.document_id == documents.c.id))
             .where(documents.c.pipeline == pipeline, day >= start.isoformat(),
                    day <= end.isoformat()))
    states: dict[tuple[str, str, int], list[str]] = {}
    status: dict[int, str] = {}
    with reads.connect(store) as conn:
        for r in conn.execute(query):
            states.setdefault((str(r.day)[:10], r.kind or "-", r.id), [])
            if r.state:
                states[(str(r.day)[:10], r.kind or "-", r.id)].append(r.state)
            status[r.id] = r.status
    table: dict[tuple[str, str], dict[str, Any]] = {}
    for (d, kind, doc_id), dels in states.items():
        entry = table.setdefault((d, kind), {"day": d, "kind": kind, "total": 0, "done": 0,
                                             "waiting": 0, "error": 0, "manual": 0})
        entry["total"] += 1
        entry[overall_state(status[doc_id], dels)] += 1
    return [table[k] for k in sorted(table, reverse=True)]


@dataclass(frozen=True)
class EventFilter:
    pipeline: str = ""
    kind: str = ""
    actor: str = ""
    since: datetime | None = None
    until: datetime | None = None
    document_id: int | None = None


def list_events(store: Store, flt: EventFilter, *, after: int | None = None,
                limit: int = 100) -> tuple[list[dict[str, Any]], int | None]:
    """Events newest first, keyset-paginated by id; returns (rows, key of the next page)."""
    query = sa.select(events).order_by(events.c.id.desc())
    for column, value in ((events.c.pipeline, flt.pipeline), (events.c.kind, flt.kind),
                          (events.c.actor, flt.actor)):
        if value:
            query = query.where(column == value)
    if flt.since:
        query = query.where(events.c.at >= flt.since)
    if flt.until:
        query = query.where(events.c.at < flt.until)
    if flt.document_id is not None:
        query = query.where(events.c.document_id == flt.document_id)
    if after is not None:
        query = query.where(events.c.id < after)
    with reads.connect(store) as conn:
        found = [dict(r._mapping) for r in conn.execute(query.limit(limit + 1))]
    more = len(found) > limit
    found = found[:limit]
    return found, (found[-1]["id"] if more and found else None)


def event_choices(store: Store) -> dict[str, list[str]]:
    """Distinct kinds and actors for the filter menus."""
    with reads.connect(store) as conn:
        kinds = [r[0] for r in conn.execute(sa.select(events.c.kind).distinct()
                                            .order_by(events.c.kind))]
        actors = [r[0] for r in conn.execute(sa.select(events.c.actor).distinct()
                                             .where(events.c.actor.is_not(None))
                                             .order_by(events.c.actor).limit(200))]
    return {"kinds": kinds, "actors": actors}


def last_event_id(store: Store) -> int:
    with reads.connect(store) as conn:
        return conn.execute(sa.select(sa.func.max(events.c.id))).scalar() or 0


def rejected_since(store: Store, pipeline: str, after: int,
                   limit: int = 500) -> list[dict[str, Any]]:
    """The rows a pull refused after event `after`: source key, the source's message (which
    names the line and column) and its raw data."""
    query = (sa.select(events).where(events.c.pipeline == pipeline, events.c.id > after,
                                     events.c.kind == "rejected")
             .order_by(events.c.id).limit(limit))
    with reads.connect(store) as conn:
        return [dict(r._mapping) for r in conn.execute(query)]
