"""The durable state: what was pulled, what waits, what was delivered, and who did what.

Every state change is one short transaction. Pulls commit documents and the source cursor
together; claims lease deliveries and number their documents together; outcomes are written
in batches. The remote side effect always happens between two commits, never inside one.
The parts live in modules named for what they hold (ingest, claims, numbering, steps,
attachments, links, inbox, actions, queries, rendered files); `Store` is all of them on one
database.
"""

from __future__ import annotations

from syncd.store import database
from syncd.store.actions import ActionsMixin
from syncd.store.claims import ClaimsMixin
from syncd.store.inbox import InboxMixin
from syncd.store.ingest import IngestMixin
from syncd.store.queries import QueriesMixin
from syncd.store.rendered import RenderedMixin


class Store(IngestMixin, ClaimsMixin, InboxMixin, ActionsMixin, QueriesMixin,
            RenderedMixin):
    """One state database; `Store.open(url)` migrates it to the newest schema first."""

    @classmethod
    def open(cls, url: str) -> Store:
        engine = database.create_engine(url)
        database.migrate(engine)
        return cls(engine)
