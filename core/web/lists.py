"""The dashboard's document lists: keyset pages, search and filters at a million documents.

A page is "the next ids below this key", never an OFFSET. The ids come from the list's
*feeds* — ordered index ranges that can only hold documents of the list (deliveries in its
states, documents with its status; or, when searching a buyer, the buyer's index range) —
read window by window, newest first; each window's candidates and their deliveries are
read in one indexed lookup and checked with `syncd.store.overall_state` and the filters. A
rare list therefore costs as little as a common one, and no query sorts, counts or
anti-joins the whole table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from syncd.store import Store, overall_state
from syncd.store.queries import search_key
from syncd.store.schema import deliveries, documents
from syncd.web import reads

LISTS = ("waiting", "error", "done", "manual", "revised")
OPEN = ("waiting", "processing")
WINDOW = 400
MAX_WINDOW = 3200
SCAN_BUDGET = 5_000  # candidates one page may check (~20-40 ms at a million documents)
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
    # set when the scan budget ran out: documents were checked up to this id (the page
    # may have fewer rows than asked; the next one goes on from here)
    checked_to: int | None = None


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
    """Documents whose id, source key, number or order id is exactly `term`: one query,
    each alternative an index lookup."""
    if not sources:  # callers that know the configured sources pass them (the pages do)
        sources = tuple(conn.execute(sa.select(documents.c.source).distinct()).scalars())
    alternatives = [sa.and_(documents.c.source.in_(sources), documents.c.source_key == term),
                    documents.c.number == term, documents.c.order_id == term]
    if term.isdigit() and len(term) < 19:
        alternatives.append(documents.c.id == int(term))
    return sorted(conn.execute(sa.select(documents.c.id).where(sa.or_(*alternatives)))
                  .scalars().all())


def _among(conn: sa.Connection, column: Any, ids: list[int]) -> Any:
    """`column IN ids`; on PostgreSQL one array parameter instead of hundreds of
    placeholders (rendered, converted and sent for every window otherwise)."""
    if conn.dialect.name == "postgresql":
        return column == sa.any_(sa.bindparam("ids", ids, type_=postgresql.ARRAY(sa.Integer)))
    return column.in_(ids)


def _document_filters(query: Any, flt: ListFilter) -> Any:
    if flt.pipeline:
        query = query.where(documents.c.pipeline == flt.pipeline)
    if flt.since:
        query = query.where(documents.c.created_at >= datetime.combine(flt.since,
                                                                       datetime.min.time()))
    if flt.until:
        query = query.where(documents.c.created_at < datetime.combine(
            flt.until + timedelta(days=1), datetime.min.time()))
    return query


def _qualifying(conn: sa.Connection, flt: ListFilter, ids: list[int],
                extra: Any = None) -> dict[int, list[Any]]:
    """Which of `ids` belong on the list, with their deliveries.

    One indexed lookup of the candidates and their deliveries; the state rule is then
    `syncd.store.overall_state` itself, so a list holds exactly the documents whose row says
    its state (no correlated EXISTS per candidate, no hashed subplan over every delivery).
    """
    query = (sa.select(documents.c.id, documents.c.status, deliveries.c.target,
                       deliveries.c.state, deliveries.c.error_message)
             .select_from(documents.outerjoin(deliveries,
                                              deliveries.c.document_id == documents.c.id))
             .where(_among(conn, documents.c.id, ids)).order_by(deliveries.c.id))
    query = _document_filters(query, flt)
    if extra is not None:
        query = query.where(extra)
    status: dict[int, str] = {}
    dels: dict[int, list[Any]] = {}
    for r in conn.execute(query).all():
        status[r.id] = r.status
        if r.state is not None:
            dels.setdefault(r.id, []).append(r)
    out = {}
    for doc_id, st in status.items():
        got = dels.get(doc_id, [])
        if overall_state(st, [x.state for x in got]) != flt.state:
            continue
        if flt.target and all(x.target != flt.target for x in got):
            continue
        out[doc_id] = got
    return out


def _bounded(query: Any, column: Any, bound: int | None, backwards: bool) -> Any:
    if bound is not None:
        query = query.where(column > bound if backwards else column < bound)
    return query.order_by(column.asc() if backwards else column.desc())


def _read_feeds(conn: sa.Connection, feeds: list[tuple[Any, Any]], bound: int | None,
                backwards: bool, size: int) -> list[list[int]]:
    """The next `size` ids of every feed, in one round trip (UNION ALL of the ranges)."""
    parts = [_bounded(feed, column, bound, backwards).limit(size) for feed, column in feeds]
    if len(parts) == 1:
        return [list(conn.execute(parts[0]).scalars().all())]
    subs = [p.subquery() for p in parts]
    union = sa.union_all(*(sa.select(sa.literal(i).label("feed"), sub.c[0].label("id"))
                           for i, sub in enumerate(subs)))
    out: list[list[int]] = [[] for _ in parts]
    for feed, doc_id in conn.execute(union).all():
        out[feed].append(doc_id)
    return out


def _windowed(conn: sa.Connection, flt: ListFilter, feeds: list[tuple[Any, Any]],
              bound: int | None, backwards: bool, want: int,
              extra: Any = None) -> tuple[list[tuple[int, list[Any]]], int | None]:
    """Read candidates from the feeds window by window until `want` of them qualify.

    Windows double (up to MAX_WINDOW) while too few qualify, so a list whose documents are
    sparse in its feeds takes a few round trips, not hundreds. After SCAN_BUDGET candidates
    it stops and also returns the key it got to (else None): a filter that matches almost
    nothing (a date beyond the newest document, a pipeline with ten documents among a
    million) answers at once with what it found so far instead of reading every feed.
    """
    found: list[tuple[int, list[Any]]] = []
    size, examined = WINDOW, 0
    while len(found) < want:
        ids: set[int] = set()
        edge: int | None = None  # candidates beyond the edge may be missing from a full feed
        for got in _read_feeds(conn, feeds, bound, backwards, size):
            ids.update(got)
            if len(got) == size:
                last = max(got) if backwards else min(got)
                edge = last if edge is None else (min(edge, last) if backwards
                                                  else max(edge, last))
        if edge is not None:
            ids = {i for i in ids if (i <= edge if backwards else i >= edge)}
        if not ids:
            break
        ok = _qualifying(conn, flt, sorted(ids), extra)
        found.extend(sorted(ok.items(), reverse=not backwards))
        if edge is None:
            break
        bound = edge
        examined += len(ids)
        if examined >= SCAN_BUDGET and len(found) < want:
            return found, edge
        size = min(size * 2, max(WINDOW, MAX_WINDOW))
    return found[:want], None


def _matches_at_least(conn: sa.Connection, clauses: list[Any], cap: int) -> int:
    """How many documents the clauses match, each counted no further than `cap` (index
    only, one round trip)."""
    counts = [sa.select(sa.func.count()).select_from(
        sa.select(sa.literal(1)).select_from(documents).where(c).limit(cap).subquery())
        .scalar_subquery() for c in clauses]
    return sum(conn.execute(sa.select(*counts)).one())


def _search(conn: sa.Connection, flt: ListFilter, term: str, bound: int | None,
            backwards: bool, want: int) -> tuple[list[tuple[int, list[Any]]], int | None]:
    """Exact id, source key, number or order id first; else documents whose buyer's name
    or company starts with the term (casefolded)."""
    exact = _exact_ids(conn, term, flt.sources)
    if exact:
        if bound is not None:
            exact = [i for i in exact if (i > bound if backwards else i < bound)]
        ok = _qualifying(conn, flt, exact) if exact else {}
        return sorted(ok.items(), reverse=not backwards)[:want], None
    key = search_key(term)
    if key is None:
        return [], None
    clauses = _buyer_clauses(key)
    if _matches_at_least(conn, clauses, SEARCH_CAP) < SEARCH_CAP:
        # bounded and ordered by `id + 0`, not the id: SQLite would otherwise walk the
        # primary key backwards from the bound, testing every row, instead of reading the
        # few matches from the buyer index and sorting them
        unindexed = documents.c.id + sa.literal_column("0")
        feeds = [(sa.select(documents.c.id).where(c), unindexed) for c in clauses]
        return _windowed(conn, flt, feeds, bound, backwards, want)
    return _windowed(conn, flt, _state_feeds(flt.state), bound, backwards, want,
                     extra=sa.or_(*clauses))


def list_documents(store: Store, flt: ListFilter, *, after: int | None = None,
                   before: int | None = None, limit: int = 50) -> Page:
    """One page of a list, newest first; `after` = the last id of the page before,
    `before` = the first id of the page after (going back)."""
    if flt.state not in FEEDS:
        raise ValueError(f"unknown list {flt.state!r}")
    backwards = before is not None and after is None
    bound = before if backwards else after
    term = flt.q.strip()
    with reads.connect(store) as conn:
        if term:
            found, stopped = _search(conn, flt, term, bound, backwards, limit + 1)
        else:
            found, stopped = _windowed(conn, flt, _state_feeds(flt.state), bound, backwards,
                                       limit + 1)
        more = len(found) > limit
        found = sorted(found[:limit], reverse=True)
        docs = {r.id: r for r in conn.execute(
            sa.select(documents.c.id, documents.c.pipeline, documents.c.source_key,
                      documents.c.kind, documents.c.status, documents.c.error,
                      documents.c.revision, documents.c.updated_at, documents.c.body,
                      documents.c.number)
            .where(_among(conn, documents.c.id, [i for i, _ in found])))} if found else {}
    page = Page(rows=[_row(docs[i], dels) for i, dels in found if i in docs],
                checked_to=stopped)
    first = page.rows[0].id if page.rows else None
    last = page.rows[-1].id if page.rows else None
    if backwards:  # the rows are the ones just above `before`
        page.next_key = last if last is not None else before
        page.prev_key = first if more else stopped
    else:
        page.next_key = last if more else stopped
        page.prev_key = (first if first is not None else after) if after is not None else None
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
