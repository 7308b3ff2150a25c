"""Links between documents: what a credit note's delivery needs from its invoice's.

A delivery with a required link waits (no attempt spent, `waiting_for` says why) until the
linked document's delivery to the same target is `done`; then `Job.links` carries the linked
number, issue date, remote reference and step results at that target. A linked document not
received yet is named in `awaits_key`: its ingest turns that into `blocked_by`, and its
delivery wakes the waiting one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from syncd.jobs import LinkedDocument, RemoteRef
from syncd.model import Document, Link, LinkKind
from syncd.store.base import StoreBase
from syncd.store.schema import deliveries, documents
from syncd.store.types import CHUNK

LINK_RECHECK_SECONDS = 60.0
"""A waiting delivery is woken when its link is delivered; otherwise it looks again this often
(the linked document may not have been pulled yet)."""


@dataclass
class LinkState:
    links: dict[LinkKind, LinkedDocument]
    waiting_for: str | None = None
    blocked_by: int | None = None
    awaits_key: str | None = None  # set while the linked document is not received


def awaits_key(source: str, source_key: str) -> str:
    """How a waiting delivery names a linked document that has not arrived yet."""
    return f"{source}/{source_key}"


def unblock_awaiting(conn: sa.Connection, source: str, ids_by_key: dict[str, int]) -> None:
    """Deliveries that waited for these new documents to arrive now wait for their delivery
    (which wakes them), not for the next periodic look."""
    named = {awaits_key(source, key): doc_id for key, doc_id in ids_by_key.items()}
    names = list(named)
    waiting: list[tuple[int, str]] = []
    for i in range(0, len(names), CHUNK):
        waiting += [tuple(row) for row in conn.execute(
            sa.select(deliveries.c.id, deliveries.c.awaits_key)
            .where(deliveries.c.awaits_key.in_(names[i:i + CHUNK])))]
    if waiting:
        conn.execute(
            deliveries.update().where(deliveries.c.id == sa.bindparam("b_id"))
            .values(blocked_by=sa.bindparam("b_by"), awaits_key=None),
            [{"b_id": i, "b_by": named[key]} for i, key in waiting])


def _key(link: Link, source: str) -> tuple[str, str]:
    """Where `_resolve_links` keeps the linked row: by key, or by order (`Link.order_id`)."""
    if link.order_id:
        return (link.source or source, f"\0{link.kind.value}\0{link.order_id}")
    return (link.source or source, link.source_key)


def _of_orders(conn: sa.Connection, wanted: set[tuple[str, str, str]]
               ) -> dict[tuple[str, str], Any]:
    """The one document per (source, kind, order id), keyed like `_key`; none when the order
    has several (or none) of that kind."""
    found: dict[tuple[str, str], list[Any]] = {}
    triples = sorted(wanted)
    for i in range(0, len(triples), CHUNK):
        cond = sa.or_(*(sa.and_(documents.c.source == s, documents.c.kind == k,
                                documents.c.order_id == o) for s, k, o in triples[i:i + CHUNK]))
        for r in conn.execute(sa.select(documents.c.id, documents.c.source,
                                        documents.c.source_key, documents.c.number,
                                        documents.c.issue_date, documents.c.kind,
                                        documents.c.order_id).where(cond)):
            found.setdefault((r.source, f"\0{r.kind}\0{r.order_id}"), []).append(r)
    return {key: rows[0] for key, rows in found.items() if len(rows) == 1}


class LinksMixin(StoreBase):
    def _resolve_links(self, conn: sa.Connection,
                       wanted: Sequence[tuple[int, str, str, Document]]) -> dict[int, LinkState]:
        """Per delivery id (with its store source, target, document): the links' state."""
        keys = {(link.source or source, link.source_key)
                for _d, source, _t, doc in wanted for link in doc.links if not link.order_id}
        by_order = {(link.source or source, link.kind.value, link.order_id)
                    for _d, source, _t, doc in wanted for link in doc.links if link.order_id}
        if not keys and not by_order:
            return {}
        docs: dict[tuple[str, str], Any] = _of_orders(conn, by_order)
        pairs = sorted(keys)
        for i in range(0, len(pairs), CHUNK):
            chunk = pairs[i:i + CHUNK]
            cond = sa.or_(*(sa.and_(documents.c.source == s, documents.c.source_key == k)
                            for s, k in chunk))
            for r in conn.execute(sa.select(documents.c.id, documents.c.source,
                                            documents.c.source_key, documents.c.number,
                                            documents.c.issue_date).where(cond)):
                docs[(r.source, r.source_key)] = r
        at: dict[tuple[int, str], Any] = {}
        if docs:
            for r in conn.execute(sa.select(
                    deliveries.c.id, deliveries.c.document_id, deliveries.c.target,
                    deliveries.c.state, deliveries.c.remote_ref, deliveries.c.remote_detail)
                    .where(deliveries.c.document_id.in_([r.id for r in docs.values()]))):
                at[(r.document_id, r.target)] = r
        steps = self._steps_of(conn, [r.id for r in at.values()])  # type: ignore[attr-defined]
        out: dict[int, LinkState] = {}
        for delivery_id, source, target, doc in wanted:
            state = LinkState({})
            for link in doc.links:
                linked = docs.get(_key(link, source))
                if linked is None and link.order_id:
                    continue  # no single document of that order: nothing to wait for
                there = at.get((linked.id, target)) if linked is not None else None
                done = there is not None and there.state == "done"
                if link.required and not done and state.waiting_for is None:
                    how = ("not received yet" if linked is None else
                           f"no delivery to {target}" if there is None else there.state)
                    named = linked.source_key if linked is not None else link.source_key
                    state.waiting_for = (f"waits for {link.kind.value} {named} at "
                                         f"{target} ({how})")
                    state.blocked_by = linked.id if linked is not None else None
                    if linked is None:
                        state.awaits_key = awaits_key(link.source or source, link.source_key)
                if linked is None:
                    continue
                remote = (RemoteRef(there.remote_ref, there.remote_detail or {})
                          if done and there.remote_ref else None)
                state.links[link.kind] = LinkedDocument(
                    kind=link.kind, source_key=linked.source_key, number=linked.number,
                    issue_date=linked.issue_date, remote=remote,
                    steps=steps.get(there.id, {}) if done else {})
            out[delivery_id] = state
        return out
