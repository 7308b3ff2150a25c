"""Verdicts: a remote's later word on an earlier delivery (Amazon's next VIDR), applied only
to the `done` delivery of the upload it judges."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from syncd.connectors import Verdict
from syncd.store.base import StoreBase
from syncd.store.schema import deliveries, delivery_steps, documents


class VerdictsMixin(StoreBase):
    def _verdict(self, conn: sa.Connection, pipeline: str, source: str, item: Verdict,
                 now: datetime, actor: str | None) -> None:
        """A rejection flips only the `done` delivery of the upload it names."""
        row = conn.execute(
            sa.select(deliveries.c.id, deliveries.c.document_id, deliveries.c.state,
                      deliveries.c.remote_ref, deliveries.c.done_at)
            .join(documents, documents.c.id == deliveries.c.document_id)
            .where(documents.c.source == source, documents.c.source_key == item.source_key,
                   deliveries.c.target == item.target)
        ).first()
        common = {"pipeline": pipeline, "source_key": item.source_key, "at": now,
                  "actor": actor}
        if row is None:
            self._event(conn, "verdict-unmatched", **common,
                        message=f"no delivery of {item.source_key} to {item.target}")
            return
        common.update(document_id=row.document_id, delivery_id=row.id)
        stale = item.remote_ref is not None and item.remote_ref != row.remote_ref
        observed = _naive_utc(item.observed_at)
        before = observed is not None and row.done_at is not None and observed < row.done_at
        if stale or before or row.state != "done":
            why = (f"it was observed at {observed.isoformat(timespec='seconds')}Z, before the "
                   f"upload finished at {row.done_at.isoformat(timespec='seconds')}Z"
                   if before and not stale and row.state == "done" and observed else
                   f"the delivery is {row.state} as {row.remote_ref or '-'}")
            self._event(conn, "verdict-stale", **common,
                        message=f"{item.target}'s verdict on {item.remote_ref or 'an upload'} "
                                f"ignored: {why}",
                        data={"accepted": item.accepted, "remote_ref": item.remote_ref,
                              "observed_at": observed.isoformat() if observed else None})
            return
        if item.accepted:
            self._event(conn, "confirmed", **common,
                        message=item.message or f"{item.target} accepted the document")
            return
        # the remote threw the upload away: a reset sends it again from the first step
        conn.execute(delivery_steps.delete().where(delivery_steps.c.delivery_id == row.id))
        conn.execute(deliveries.update().where(deliveries.c.id == row.id).values(
            state="error", error_class="Verdict", step=None, error_code=item.code,
            error_message=item.message or f"{item.target} rejected the document",
            lease_owner=None, lease_expires_at=None, updated_at=now))
        self._event(conn, "verdict-rejected", **common, message=item.message,
                    data={"code": item.code, "target": item.target,
                          "remote_ref": item.remote_ref})


def _naive_utc(at: datetime | None) -> datetime | None:
    """The store keeps naive UTC times; a source may give an aware one."""
    if at is None or at.tzinfo is None:
        return at
    return at.astimezone(UTC).replace(tzinfo=None)
