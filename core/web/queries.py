"""The dashboard's reads: keyset-paginated lists, per-day counts, filtered events.

A thin layer over `syncd.store.schema`, read-only, so the pages never hold a write
transaction. Lists page by document id (newest first) with `after`/`before` keys, never by
OFFSET: the cost of a page does not grow with how far back it is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from syncd.store import STATES, Store, overall_state
from syncd.store.schema import deliveries, documents, events

LISTS = ("waiting", "error", "done", "manual", "revised")
OPEN = ("waiting", "processing")
REVISED_STATE = "revised" in STATES  # spine v2: a delivery state of its own


@dataclass(frozen=True)
class ListFilter:
    """What the operator asked for on a list page; every field is optional but `state`."""

    state: str = "waiting"
    q: str = ""
    pipeline: str = ""
    target: str = ""
    since: date | None = None
    until: date | None = None  # inclusive
    sources: tuple[str, ...] = ()  # the configured sources: lets a key search use the index


@dataclass
class Row:
    """One line of a list: enough to recognise the document and act on it."""

    id: int
    pipeline: str
    source_key: str
    kind: str | None
    state: str
    revision: int
    numbers: list[str]
    order_id: str | None
    buyer: str | None
    gross: str | None
    currency: str | None
    error: str | None
    targets: dict[str, str]
    updated_at: datetime


@dataclass
class Page:
    """A page of rows plus the keys of the neighbouring pages (None when there is none)."""

    rows: list[Row] = field(default_factory=list)
    next_key: int | None = None
    prev_key: int | None = None


def _has(states: tuple[str, ...]) -> Any:
    d = deliveries
    return sa.exists().where(d.c.document_id == documents.c.id, d.c.state.in_(states))


def state_clause(state: str) -> Any:
    """A document's overall state as SQL, the same rule as `syncd.store.overall_state`:
    error beats revised (a delivered document changed at the source) beats waiting beats
    manual beats done."""
    status = documents.c.status
    revised = ("revised",) if REVISED_STATE else ()
    if state == "error":
        return sa.or_(status == "rejected", _has(("error",)))
    if state == "revised" and REVISED_STATE:
        return sa.and_(status == "ok", _has(("revised",)), ~_has(("error",)))
    if state == "revised":  # before deliveries had the state: a document with revisions
        return documents.c.revision > 1
    if state == "waiting":
        return sa.or_(status == "repull", sa.and_(status == "ok", ~_has(("error", *revised)),
                                                  _has(OPEN)))
    if state == "manual":
        return sa.or_(status == "manual", sa.and_(status == "ok", _has(("manual",)),
                                                  ~_has(("error", *revised, *OPEN))))
    if state == "done":
        return sa.and_(status == "ok", _has(("done",)),
                       ~_has(("error", "manual", *revised, *OPEN)))
    raise ValueError(f"unknown list {state!r}")


# Where a document of each list can come from: delivery states and document statuses. Lists
# are read window by window from these (newest ids first), so a rare state costs as little
# as a common one when the store indexes deliveries(state, document_id) and documents(status).
FEEDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "error": (("error",), ("rejected",)),
    "waiting": (OPEN, ("repull",)),
    "manual": (("manual",), ("manual",)),
    "done": (("done",), ()),
    **({"revised": (("revised",), ())} if REVISED_STATE else {}),
}
WINDOW = 400


def _exact_ids(conn: sa.Connection, term: str, sources: tuple[str, ...]) -> list[int]:
    """Documents whose id, source key or number is exactly `term` (all indexed lookups)."""
    found = set()
    if term.isdigit() and len(term) < 19:
        found.update(conn.execute(sa.select(documents.c.id).where(
            documents.c.id == int(term))).scalars())
    if not sources:
        sources = tuple(conn.execute(sa.select(documents.c.source).distinct()).scalars())
    found.update(conn.execute(sa.select(documents.c.id).where(
        documents.c.source.in_(sources), documents.c.source_key == term)).scalars())
    number = documents.c.number if "number" in documents.c else None
    if number is not None:
        found.update(conn.execute(sa.select(documents.c.id).where(number == term)).scalars())
    else:
        series = conn.execute(sa.select(deliveries.c.number_series).distinct()).scalars().all()
        found.update(conn.execute(sa.select(deliveries.c.document_id).where(
            deliveries.c.number_series.in_(series), deliveries.c.number == term)).scalars())
    return sorted(found)


def _body_search(term: str) -> Any:
    """The order id (exactly) or the buyer's name or company (by prefix) in the stored JSON.

    A scan, unlike the exact lookups: used only when those found nothing.
    """
    text = json.dumps(term, ensure_ascii=False)[1:-1].replace("\\", "\\\\")
    like = text.replace("%", "\\%").replace("_", "\\_")
    return sa.or_(
        documents.c.body.like(f'%"order_id":"{like}"%', escape="\\"),
        documents.c.body.ilike(f'%"buyer":{{"name":"{like}%', escape="\\"),
        documents.c.body.ilike(f'%"buyer":{{"name":%"company":"{like}%', escape="\\"))


def _filtered(flt: ListFilter) -> Any:
    number = documents.c.number if "number" in documents.c else sa.null()
    query = sa.select(documents.c.id, documents.c.pipeline, documents.c.source_key,
                      documents.c.kind, documents.c.status, documents.c.error,
                      documents.c.revision, documents.c.updated_at, documents.c.body,
                      number.label("number"))
    query = query.where(state_clause(flt.state))
    if flt.pipeline:
        query = query.where(documents.c.pipeline == flt.pipeline)
    if flt.target:
        query = query.where(sa.exists().where(deliveries.c.document_id == documents.c.id,
                                              deliveries.c.target == flt.target))
    if flt.since:
        query = query.where(documents.c.created_at >= datetime.combine(flt.since,
                                                                       datetime.min.time()))
    if flt.until:
        query = query.where(documents.c.created_at < datetime.combine(
            flt.until + timedelta(days=1), datetime.min.time()))
    return query


def _bounded(query: Any, column: Any, bound: int | None, backwards: bool) -> Any:
    if bound is not None:
        query = query.where(column > bound if backwards else column < bound)
    return query.order_by(column.asc() if backwards else column.desc())


def _windowed(conn: sa.Connection, flt: ListFilter, bound: int | None, backwards: bool,
              want: int) -> list[Any]:
    """Read candidates from the list's feeds window by window until `want` rows qualify."""
    dstates, statuses = FEEDS[flt.state]
    base = _filtered(flt)
    rows: list[Any] = []
    while len(rows) < want:
        # one feed per state: each is one ordered range of a (state, document_id) index
        feeds = [_bounded(sa.select(deliveries.c.document_id).where(deliveries.c.state == st),
                          deliveries.c.document_id, bound, backwards) for st in dstates]
        if statuses:
            feeds.append(_bounded(sa.select(documents.c.id).where(
                documents.c.status.in_(statuses)), documents.c.id, bound, backwards))
        ids: set[int] = set()
        edge: int | None = None  # candidates beyond the edge may be missing from a full feed
        for feed in feeds:
            got = conn.execute(feed.limit(WINDOW)).scalars().all()
            ids.update(got)
            if len(got) == WINDOW:
                last = got[-1]
                edge = last if edge is None else (min(edge, last) if backwards
                                                  else max(edge, last))
        if edge is not None:
            ids = {i for i in ids if (i <= edge if backwards else i >= edge)}
        if not ids:
            break
        # the limit keeps the planner on index lookups per candidate (no hash anti-join
        # over every delivery on PostgreSQL)
        found = conn.execute(_bounded(base.where(documents.c.id.in_(sorted(ids))),
                                      documents.c.id, None, backwards)
                             .limit(want - len(rows))).all()
        rows.extend(found)
        if edge is None:
            break
        bound = edge
    return rows[:want]


def list_documents(store: Store, flt: ListFilter, *, after: int | None = None,
                   before: int | None = None, limit: int = 50) -> Page:
    """One page of a list, newest first; `after` = the last id of the page before,
    `before` = the first id of the page after (going back)."""
    backwards = before is not None and after is None
    bound = before if backwards else after
    term = flt.q.strip()
    with store.engine.connect() as conn:
        if term:
            exact = _exact_ids(conn, term, flt.sources)
            query = _filtered(flt).where(documents.c.id.in_(exact) if exact
                                         else _body_search(term))
            found = conn.execute(_bounded(query, documents.c.id, bound, backwards)
                                 .limit(limit + 1)).all()
        elif flt.state in FEEDS:
            found = _windowed(conn, flt, bound, backwards, limit + 1)
        else:
            found = conn.execute(_bounded(_filtered(flt), documents.c.id, bound, backwards)
                                 .limit(limit + 1)).all()
        more = len(found) > limit
        found = found[:limit]
        if backwards:
            found.reverse()
        dels: dict[int, list[Any]] = {}
        if found:
            number = deliveries.c.number if "number" in deliveries.c else sa.null()
            for r in conn.execute(sa.select(deliveries.c.document_id, deliveries.c.target,
                                            deliveries.c.state, number.label("number"),
                                            deliveries.c.error_message)
                                  .where(deliveries.c.document_id.in_([r.id for r in found]))
                                  .order_by(deliveries.c.id)):
                dels.setdefault(r.document_id, []).append(r)
    page = Page(rows=[_row(r, dels.get(r.id, [])) for r in found])
    if page.rows:
        first, last = page.rows[0].id, page.rows[-1].id
        if backwards:
            page.next_key = last
            page.prev_key = first if more else None
        else:
            page.next_key = last if more else None
            page.prev_key = first if after is not None else None
    return page


def _row(r: Any, dels: list[Any]) -> Row:
    body = json.loads(r.body) if r.body else {}
    own = r._mapping.get("number")
    buyer = body.get("buyer") or {}
    totals = body.get("totals") or {}
    return Row(
        id=r.id, pipeline=r.pipeline, source_key=r.source_key, kind=r.kind,
        state=overall_state(r.status, [x.state for x in dels]), revision=r.revision,
        numbers=[own] if own else sorted({x.number for x in dels if x.number}),
        order_id=(body.get("references") or {}).get("order_id"),
        buyer=buyer.get("company") or buyer.get("name"),
        gross=totals.get("gross"), currency=body.get("currency"),
        error=r.error or next((x.error_message for x in dels if x.state == "error"), None),
        targets={x.target: x.state for x in dels}, updated_at=r.updated_at,
    )


def per_day(store: Store, days: int = 30, pipeline: str | None = None,
            today: date | None = None) -> dict[date, dict[str, int]]:
    """Deliveries per day (the day syncd received the document) and state, `days` back."""
    today = today or datetime.utcnow().date()
    start = datetime.combine(today - timedelta(days=days - 1), datetime.min.time())
    day = sa.func.date(deliveries.c.created_at)
    query = (sa.select(day, deliveries.c.state, sa.func.count())
             .where(deliveries.c.created_at >= start).group_by(day, deliveries.c.state))
    if pipeline:
        query = query.where(deliveries.c.pipeline == pipeline)
    out = {today - timedelta(days=i): {} for i in range(days - 1, -1, -1)}
    with store.engine.connect() as conn:
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
    with store.engine.connect() as conn:
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
    with store.engine.connect() as conn:
        found = [dict(r._mapping) for r in conn.execute(query.limit(limit + 1))]
    more = len(found) > limit
    found = found[:limit]
    return found, (found[-1]["id"] if more and found else None)


def event_choices(store: Store) -> dict[str, list[str]]:
    """Distinct kinds and actors for the filter menus."""
    with store.engine.connect() as conn:
        kinds = [r[0] for r in conn.execute(sa.select(events.c.kind).distinct()
                                            .order_by(events.c.kind))]
        actors = [r[0] for r in conn.execute(sa.select(events.c.actor).distinct()
                                             .where(events.c.actor.is_not(None))
                                             .order_by(events.c.actor).limit(200))]
    return {"kinds": kinds, "actors": actors}


def last_event_id(store: Store) -> int:
    with store.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.max(events.c.id))).scalar() or 0


def rejected_since(store: Store, pipeline: str, after: int,
                   limit: int = 500) -> list[dict[str, Any]]:
    """The rows a pull refused after event `after`: source key, the source's message (which
    names the line and column) and its raw data."""
    query = (sa.select(events).where(events.c.pipeline == pipeline, events.c.id > after,
                                     events.c.kind == "rejected")
             .order_by(events.c.id).limit(limit))
    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]
