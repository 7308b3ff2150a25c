"""Attachments by reference: one content-addressed table (sha256 -> bytes) every worker reads.

Inline bytes arrive at ingest (`ingest.by_reference`); url attachments are fetched by the
engine (`put_fetched`) before any target's first step and remembered per document and url.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from functools import partial
from typing import Any

import sqlalchemy as sa

from syncd.errors import SyncdError
from syncd.jobs import StoredAttachment
from syncd.model import Attachment
from syncd.store.base import StoreBase
from syncd.store.schema import blobs, fetches
from syncd.store.types import utcnow


class AttachmentsMixin(StoreBase):
    def put_blob(self, data: bytes) -> str:
        """Store bytes once; returns their sha256."""
        digest = hashlib.sha256(data).hexdigest()
        with self.tx() as conn:
            self._put_blob(conn, digest, data, utcnow())
        return digest

    def _put_blob(self, conn: sa.Connection, digest: str, data: bytes, now: datetime) -> None:
        conn.execute(self._insert(blobs).values(
            sha256=digest, size=len(data), data=data, created_at=now
        ).on_conflict_do_nothing(index_elements=[blobs.c.sha256]))

    def blob(self, sha256: str) -> bytes:
        with self.engine.connect() as conn:
            data = conn.execute(sa.select(blobs.c.data).where(blobs.c.sha256 == sha256)).scalar()
        if data is None:
            raise SyncdError(f"attachment {sha256[:12]}… is not in the attachment store")
        return bytes(data)

    def put_fetched(self, document_id: int, attachment: Attachment,
                    data: bytes) -> StoredAttachment:
        """Keep the bytes a source fetched for a url attachment of one document."""
        digest = hashlib.sha256(data).hexdigest()
        now = utcnow()
        values = {"sha256": digest, "size": len(data), "fetched_at": now}
        with self.tx() as conn:
            self._put_blob(conn, digest, data, now)
            conn.execute(self._insert(fetches).values(
                document_id=document_id, url=attachment.url, **values).on_conflict_do_update(
                index_elements=[fetches.c.document_id, fetches.c.url], set_=values))
        return self._stored(attachment, digest, len(data))

    def _stored(self, a: Attachment, sha256: str, size: int) -> StoredAttachment:
        return StoredAttachment(a.filename, a.media_type, a.role, sha256, size,
                                partial(self.blob, sha256))

    def _attachments_of(self, conn: sa.Connection, docs: Iterable[tuple[int, Any]]
                        ) -> dict[int, tuple[list[StoredAttachment], list[Attachment]]]:
        """Per document id: the attachments ready to read and the url ones still to fetch."""
        wanted = [(doc_id, doc) for doc_id, doc in docs if doc.attachments]
        if not wanted:
            return {}
        fetched: dict[tuple[int, str], Any] = {}
        if any(a.url for _i, d in wanted for a in d.attachments if a.sha256 is None):
            for r in conn.execute(sa.select(fetches).where(
                    fetches.c.document_id.in_([i for i, _d in wanted]))):
                fetched[(r.document_id, r.url)] = r
        out: dict[int, tuple[list[StoredAttachment], list[Attachment]]] = {}
        for doc_id, doc in wanted:
            ready: list[StoredAttachment] = []
            missing: list[Attachment] = []
            for a in doc.attachments:
                if a.sha256 is not None:
                    ready.append(self._stored(a, a.sha256, a.size or 0))
                elif (row := fetched.get((doc_id, a.url or ""))) is not None:
                    ready.append(self._stored(a, row.sha256, row.size))
                else:
                    missing.append(a)
            out[doc_id] = (ready, missing)
        return out
