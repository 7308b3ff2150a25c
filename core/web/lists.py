"""The dashboard's document lists: keyset pages, search and filters at a million documents.

A page is "the next ids below this key", never an OFFSET. The ids come from the list's
*feeds* — ordered index ranges that can only hold documents of the list (deliveries in its
states, documents with its status; or, when searching a buyer, the buyer's index range) —
read window by window, newest first, and checked against the full state rule and the
filters. A rare list therefore costs as little as a common one, and no query sorts or
counts the whole table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from syncd.store import Store, overall_state
from syncd.store.queries import search_key
from syncd.store.schema import deliveries, documents

LISTS = ("waiting", "error", "done", "manual", "revised")
OPEN = ("waiting", "processing")
WINDOW = 400
# a buyer prefix matching fewer documents than this is read through its own index range;
# a broader one (e.g. one letter) is checked on the list's feeds instead
SEARCH_CAP = 20_000


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
    if state == "error":
        return sa.or_(status == "rejected", _has(("error",)))
    if state == "revised":
        return sa.and_(status == "ok", _has(("revised",)), ~_has(("error",)))
    if state == "waiting":
        return sa.or_(status == "repull", sa.and_(status == "ok", ~_has(("error", "revised")),
                                                  _has(OPEN)))
    if state == "manual":
        return sa.or_(status == "manual", sa.and_(status == "ok", _has(("manual",)),
                                                  ~_has(("error", "revised", *OPEN))))
    if state == "done":
        return sa.and_(status == "ok", _has(("done",)),
                       ~_has(("error", "manual", "revised", *OPEN)))
    raise ValueError(f"unknown list {state!r}")


# Where a document of each list can come from: delivery states and document statuses, each
# one ordered range of deliveries(state, document_id) or documents(status, id).
FEEDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "error": (("error",), ("rejected",)),
    "waiting": (OPEN, ("repull",)),
    "manual": (("manual",), ("manual",)),
    "done": (("done",), ()),
    "revised": (("revised",), ()),
}


def _state_feeds(state: str) -> list[tuple[Any, Any]]:
    dstates, statuses = FEEDS[state]
    feeds = [(sa.select(deliveries.c.document_id).where(deliveries.c.state == st),
              deliveries.c.document_id) for st in dstates]
    if statuses:
        feeds.append((sa.select(documents.c.id).where(documents.c.status.in_(statuses)),
                      documents.c.id))
    return feeds


def _successor(key: str) -> str | None:
    """The smallest string above every string starting with `key` (code point order)."""
    last = ord(key[-1]) + 1
    if 0xD800 <= last <= 0xDFFF:
        last = 0xE000
    return key[:-1] + chr(last) if last <= 0x10FFFF else None


def _prefix(column: Any, key: str) -> Any:
    """`column` starts with `key`, as an index range (no LIKE: no wildcards to escape, and
    SQLite would need a NOCASE index for LIKE to use one)."""
    upper = _successor(key)
    if upper is None:
        return sa.and_(column >= key, sa.func.substr(column, 1, len(key)) == key)
    return sa.and_(column >= key, column < upper)


def _buyer_clauses(key: str) -> list[Any]:
    return [_prefix(documents.c.buyer_name, key),
            sa.and_(documents.c.buyer_company.is_not(None),
                    _prefix(documents.c.buyer_company, key))]


def _exact_ids(conn: sa.Connection, term: str, sources: tuple[str, ...]) -> list[int]:
    """Documents whose id, source key, number or order id is exactly `term` (indexed)."""
    found = set()
    if term.isdigit() and len(term) < 19:
        found.update(conn.execute(sa.select(documents.c.id).where(
            documents.c.id == int(term))).scalars())
    if not sources:
        sources = tuple(conn.execute(sa.select(documents.c.source).distinct()).scalars())
    found.update(conn.execute(sa.select(documents.c.id).where(
        documents.c.source.in_(sources), documents.c.source_key == term)).scalars())
    found.update(conn.execute(sa.select(documents.c.id).where(
        sa.or_(documents.c.number == term, documents.c.order_id == term))).scalars())
    return sorted(found)


def _filtered(flt: ListFilter) -> Any:
    query = sa.select(documents.c.id, documents.c.pipeline, documents.c.source_key,
                      documents.c.kind, documents.c.status, documents.c.error,
                      documents.c.revision, documents.c.updated_at, documents.c.body,
                      documents.c.number)
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


def _windowed(conn: sa.Connection, base: Any, feeds: list[tuple[Any, Any]],
              bound: int | None, backwards: bool, want: int) -> list[Any]:
    """Read candidates from the feeds window by window until `want` rows of `base` qualify."""
    rows: list[Any] = []
    while len(rows) < want:
        ids: set[int] = set()
        edge: int | None = None  # candidates beyond the edge may be missing from a full feed
        for feed, column in feeds:
            got = conn.execute(_bounded(feed, column, bound, backwards).limit(WINDOW)
                               ).scalars().all()
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
        rows.extend(conn.execute(_bounded(base.where(documents.c.id.in_(sorted(ids))),
                                          documents.c.id, None, backwards)
                                 .limit(want - len(rows))).all())
        if edge is None:
            break
        bound = edge
    return rows[:want]


def _matches_at_least(conn: sa.Connection, clauses: list[Any], cap: int) -> int:
    """How many documents the clauses match, counting no further than `cap` (index only)."""
    total = 0
    for clause in clauses:
        inner = sa.select(sa.literal(1)).select_from(documents).where(clause).limit(cap)
        total += conn.execute(sa.select(sa.func.count()).select_from(inner.subquery())
                              ).scalar_one()
    return total


def _search(conn: sa.Connection, flt: ListFilter, term: str, bound: int | None,
            backwards: bool, want: int) -> list[Any]:
    """Exact id, source key, number or order id first; else documents whose buyer's name
    or company starts with the term (casefolded)."""
    exact = _exact_ids(conn, term, flt.sources)
    if exact:
        return conn.execute(_bounded(_filtered(flt).where(documents.c.id.in_(exact)),
                                     documents.c.id, bound, backwards).limit(want)).all()
    key = search_key(term)
    if key is None:
        return []
    clauses = _buyer_clauses(key)
    if _matches_at_least(conn, clauses, SEARCH_CAP) < SEARCH_CAP:
        feeds = [(sa.select(documents.c.id).where(c), documents.c.id) for c in clauses]
        return _windowed(conn, _filtered(flt), feeds, bound, backwards, want)
    return _windowed(conn, _filtered(flt).where(sa.or_(*clauses)), _state_feeds(flt.state),
                     bound, backwards, want)


def list_documents(store: Store, flt: ListFilter, *, after: int | None = None,
                   before: int | None = None, limit: int = 50) -> Page:
    """One page of a list, newest first; `after` = the last id of the page before,
    `before` = the first id of the page after (going back)."""
    if flt.state not in FEEDS:
        raise ValueError(f"unknown list {flt.state!r}")
    backwards = before is not None and after is None
    bound = before if backwards else after
    term = flt.q.strip()
    with store.engine.connect() as conn:
        if term:
            found = _search(conn, flt, term, bound, backwards, limit + 1)
        else:
            found = _windowed(conn, _filtered(flt), _state_feeds(flt.state), bound, backwards,
                              limit + 1)
        more = len(found) > limit
        found = found[:limit]
        if backwards:
            found.reverse()
        dels: dict[int, list[Any]] = {}
        if found:
            for r in conn.execute(sa.select(deliveries.c.document_id, deliveries.c.target,
                                            deliveries.c.state, deliveries.c.error_message)
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
    buyer = body.get("buyer") or {}
    totals = body.get("totals") or {}
    return Row(
        id=r.id, pipeline=r.pipeline, source_key=r.source_key, kind=r.kind,
        state=overall_state(r.status, [x.state for x in dels]), revision=r.revision,
        numbers=[r.number] if r.number else [],
        order_id=(body.get("references") or {}).get("order_id"),
        buyer=buyer.get("company") or buyer.get("name"),
        gross=totals.get("gross"), currency=body.get("currency"),
        error=r.error or next((x.error_message for x in dels if x.state == "error"), None),
        targets={x.target: x.state for x in dels}, updated_at=r.updated_at,
    )
