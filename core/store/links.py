"""Links between documents: what a credit note's delivery needs from its invoice's.

A delivery with a required link waits (no attempt spent, `waiting_for` says why) until the
linked document's delivery to the same target is `done`; then `Job.links` carries the linked
number, issue date, remote reference and step results at that target. A linked document not
received yet is named in `awaits_key`: its ingest turns that into `blocked_by`, and its
delivery wakes the waiting one. A link by references (`LinkMatch`) is resolved here, at each
claim: by shipping id to the first received document of its source and kind with it (and the
order id), awaiting `match_awaits_key(source, kind, shipping_id)` until one arrives; by order
id alone to the one document of that kind for the order, or to no link at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from syncd.jobs import LinkedDocument, RemoteRef
from syncd.model import Document, Link, LinkKind, LinkMatch
from syncd.store.base import StoreBase
from syncd.store.queries import reference_key
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


def match_awaits_key(source: str, kind: str, shipping_id: str) -> str:
    """How a waiting delivery names a `LinkMatch` that no received document answers yet."""
    return f"{source}/{kind}@shipping_id:{shipping_id}"


def unblock_awaiting(conn: sa.Connection, source: str, ids_by_key: dict[str, int],
                     matched: dict[tuple[str, str], int] | None = None) -> None:
    """Deliveries that waited for these new documents to arrive now wait for their delivery
    (which wakes them), not for the next periodic look. `matched`: (kind, shipping id) of the
    new documents, for links by references."""
    named = {awaits_key(source, key): doc_id for key, doc_id in ids_by_key.items()}
    named.update({match_awaits_key(source, kind, shipping): doc_id
                  for (kind, shipping), doc_id in (matched or {}).items()})
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


MatchKey = tuple[str, str, str, str | None]
"""A `LinkMatch` as looked up: (source, document kind, shipping id, order id or None)."""


def match_of(link: Link, source: str) -> MatchKey:
    match = link.match
    assert match is not None
    return (link.source or source, link.kind.value, reference_key(match.shipping_id) or "",
            reference_key(match.order_id))


def matched_keys(conn: sa.Connection, wanted: set[MatchKey]
             ) -> dict[MatchKey, str]:
    """Per `LinkMatch`: the source key of the document that answers it (see `LinkMatch`)."""
    out: dict[MatchKey, str] = {}
    for source, kind, shipping, order in sorted(wanted, key=str):
        query = (sa.select(documents.c.source_key)
                 .where(documents.c.source == source, documents.c.kind == kind)
                 .order_by(documents.c.id))
        if order is not None:
            query = query.where(documents.c.order_id == order)
        if shipping:
            key = conn.execute(query.where(documents.c.shipping_id == shipping).limit(1)).scalar()
        else:  # by order alone: only when the order has exactly one
            keys = conn.execute(query.limit(2)).scalars().all()
            key = keys[0] if len(keys) == 1 else None
        if key is not None:
            out[(source, kind, shipping, order)] = key
    return out


class LinksMixin(StoreBase):
    def _resolve_links(self, conn: sa.Connection,
                       wanted: Sequence[tuple[int, str, str, Document]]) -> dict[int, LinkState]:
        """Per delivery id (with its store source, target, document): the links' state."""
        matched = matched_keys(conn, {match_of(link, source) for _d, source, _t, doc in wanted
                                  for link in doc.links if link.match is not None})

        def key_of(link: Link, source: str) -> str | None:
            if link.match is None:
                return link.source_key
            return matched.get(match_of(link, source))

        keys = {(link.source or source, key) for _d, source, _t, doc in wanted
                for link in doc.links if (key := key_of(link, source)) is not None}
        if not any(doc.links for _d, _s, _t, doc in wanted):
            return {}
        docs: dict[tuple[str, str], Any] = {}
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
                key = key_of(link, source)
                linked = docs.get((link.source or source, key)) if key else None
                if linked is None and link.match is not None and not link.match.shipping_id:
                    continue  # by order alone, and no single document of it: no link
                there = at.get((linked.id, target)) if linked is not None else None
                done = there is not None and there.state == "done"
                if link.required and not done and state.waiting_for is None:
                    how = ("not received yet" if linked is None else
                           f"no delivery to {target}" if there is None else there.state)
                    state.waiting_for = (f"waits for {link.kind.value} {key or named(link)} at "
                                         f"{target} ({how})")
                    state.blocked_by = linked.id if linked is not None else None
                    if linked is None:
                        state.awaits_key = _awaits(link, source)
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


def named(link: Link) -> str:
    """A link by references as the operator reads it, e.g. "with shipping id 409302382"."""
    match: LinkMatch | None = link.match
    if match is None:
        return str(link.source_key)
    named = [f"{name} {value}" for name, value in
             (("shipping id", match.shipping_id), ("order id", match.order_id)) if value]
    return "with " + " and ".join(named)


def _awaits(link: Link, source: str) -> str:
    if link.match is None:
        return awaits_key(link.source or source, str(link.source_key))
    return match_awaits_key(link.source or source, link.kind.value,
                            reference_key(link.match.shipping_id) or "")
