"""Pushed input and operator switches: the inbox of uploaded files, pause/resume/run now.

The same file pushed twice to one pipeline is one item (by sha256); its bytes live in the
content-addressed blob table. A running daemon polls the switches every few seconds.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from syncd.context import InboxItem
from syncd.store.attachments import AttachmentsMixin
from syncd.store.schema import control, inbox
from syncd.store.types import utcnow

PAGE = 200


@dataclass(frozen=True)
class Control:
    """A pipeline's operator switches as the store holds them."""

    pipeline: str
    paused: bool = False
    run_requested_at: datetime | None = None
    actor: str | None = None
    updated_at: datetime | None = None


def _item(row: Any) -> InboxItem:
    return InboxItem(id=row.id, pipeline=row.pipeline, filename=row.filename,
                     media_type=row.media_type, sha256=row.sha256, size=row.size,
                     received_at=row.received_at, actor=row.actor)


class InboxMixin(AttachmentsMixin):
    def inbox_add(self, pipeline: str, filename: str, data: bytes, actor: str | None,
                  media_type: str | None = None) -> tuple[InboxItem, bool]:
        """Store a pushed file durably; (item, created), created=False for a known file."""
        digest = hashlib.sha256(data).hexdigest()
        media = media_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        now = utcnow()
        with self.tx() as conn:
            self._put_blob(conn, digest, data, now)
            row = conn.execute(sa.select(inbox).where(inbox.c.pipeline == pipeline,
                                                      inbox.c.sha256 == digest)).first()
            if row is not None:
                return _item(row), False
            new_id = conn.execute(inbox.insert().returning(inbox.c.id).values(
                pipeline=pipeline, filename=filename, media_type=media, sha256=digest,
                size=len(data), received_at=now, actor=actor)).scalar_one()
            self._event(conn, "inbox", pipeline=pipeline, actor=actor, at=now,
                        message=f"{filename} received ({len(data)} bytes)",
                        data={"inbox_id": new_id, "sha256": digest})
            row = conn.execute(sa.select(inbox).where(inbox.c.id == new_id)).one()
        return _item(row), True

    def inbox_items(self, pipeline: str, after: int | None = None,
                    limit: int = PAGE) -> list[InboxItem]:
        query = sa.select(inbox).where(inbox.c.pipeline == pipeline)
        if after is not None:
            query = query.where(inbox.c.id > after)
        with self.engine.connect() as conn:
            return [_item(r) for r in conn.execute(query.order_by(inbox.c.id).limit(limit))]

    def inbox_read(self, item: InboxItem) -> bytes:
        return self.blob(item.sha256)

    # -- pipeline control

    def _set_control(self, pipeline: str, actor: str, kind: str, message: str,
                     **values: Any) -> None:
        now = utcnow()
        values.update(actor=actor, updated_at=now)
        with self.tx() as conn:
            insert_values = {"paused": False, **values}
            conn.execute(self._insert(control).values(pipeline=pipeline, **insert_values)
                         .on_conflict_do_update(index_elements=[control.c.pipeline],
                                                set_=values))
            self._event(conn, kind, pipeline=pipeline, actor=actor, at=now, message=message)

    def pause(self, pipeline: str, actor: str) -> None:
        self._set_control(pipeline, actor, "paused", "paused: pulls and deliveries stop",
                          paused=True)

    def resume(self, pipeline: str, actor: str) -> None:
        self._set_control(pipeline, actor, "resumed", "resumed from the stored cursor",
                          paused=False)

    def request_run(self, pipeline: str, actor: str) -> None:
        self._set_control(pipeline, actor, "run-requested", "run now requested",
                          run_requested_at=utcnow())

    def clear_run_request(self, pipeline: str, before: datetime) -> None:
        """Forget a run request the daemon has acted on (a newer one stays)."""
        with self.tx() as conn:
            conn.execute(control.update().where(control.c.pipeline == pipeline,
                                                control.c.run_requested_at <= before)
                         .values(run_requested_at=None))

    def controls(self) -> dict[str, Control]:
        with self.engine.connect() as conn:
            return {r.pipeline: Control(r.pipeline, bool(r.paused), r.run_requested_at,
                                        r.actor, r.updated_at)
                    for r in conn.execute(sa.select(control))}

    def is_paused(self, pipeline: str) -> bool:
        with self.engine.connect() as conn:
            return bool(conn.execute(sa.select(control.c.paused).where(
                control.c.pipeline == pipeline)).scalar())


class StoreInbox:
    """The `Inbox` a source gets in its context: one pipeline's pushed files, oldest first."""

    def __init__(self, store: InboxMixin, pipeline: str) -> None:
        self.store = store
        self.pipeline = pipeline

    def items(self, after: int | None = None) -> Iterator[InboxItem]:
        while True:
            page = self.store.inbox_items(self.pipeline, after)
            yield from page
            if len(page) < PAGE:
                return
            after = page[-1].id

    def read(self, item: InboxItem) -> bytes:
        return self.store.inbox_read(item)
