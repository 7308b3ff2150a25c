"""A target's open deliveries, read-only, for the connector's context (`Deliveries`).

What a target needs to know about its own backlog (e.g. Amazon's 24-hour upload deadline for
the invoices not uploaded yet) is read from the engine's state, shared by every worker, never
kept by the connector.
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa

from syncd.context import OpenDelivery
from syncd.model import Document
from syncd.store.base import StoreBase
from syncd.store.schema import deliveries, documents

PAGE = 500
OPEN_STATES = ("waiting", "processing", "error", "manual")


class StoreDeliveries:
    """The `Deliveries` of one pipeline's target, paged by delivery id."""

    def __init__(self, store: StoreBase, pipeline: str, target: str) -> None:
        self.store = store
        self.pipeline = pipeline
        self.target = target

    def open(self) -> Iterator[OpenDelivery]:
        after = 0
        while True:
            with self.store.engine.connect() as conn:
                rows = conn.execute(
                    sa.select(deliveries.c.id, deliveries.c.state, documents.c.source_key,
                              documents.c.body)
                    .join(documents, documents.c.id == deliveries.c.document_id)
                    .where(deliveries.c.pipeline == self.pipeline,
                           deliveries.c.target == self.target,
                           deliveries.c.state.in_(OPEN_STATES), deliveries.c.id > after,
                           documents.c.body.is_not(None))
                    .order_by(deliveries.c.id).limit(PAGE)).all()
            for r in rows:
                try:
                    document = Document.from_stored(r.body)
                except ValueError:  # the claim reports it as an error; nothing to show here
                    continue
                yield OpenDelivery(source_key=r.source_key, state=r.state, document=document)
            if len(rows) < PAGE:
                return
            after = rows[-1].id
