"""Operator actions: reset, mark manual, resend, keep a revision; runs and reloads.

Every action records an event with its actor. None of them sends anything itself; a reset,
retry or resend of a delivery that may have reached the remote is looked up first, because
the delivery stays *in doubt* until a lookup or a step says otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from syncd.store.base import StoreBase
from syncd.store.schema import deliveries, delivery_steps, documents, reloads, runs
from syncd.store.types import utcnow


class ActionsMixin(StoreBase):
    def reset(self, ids: Sequence[int], actor: str) -> list[str]:
        """error -> waiting (attempts start over); a rejected document waits for a re-pull."""
        messages = []
        now = utcnow()
        with self.tx() as conn:
            for doc in self._documents(conn, ids):
                if doc.status == "rejected":
                    conn.execute(documents.update().where(documents.c.id == doc.id).values(
                        status="repull", updated_at=now))
                    text = (f"document {doc.id} ({doc.source_key}): waits for the source to "
                            "send it again (next pull, or `syncd reload` of its dates)")
                else:
                    result = conn.execute(deliveries.update().where(
                        deliveries.c.document_id == doc.id, deliveries.c.state == "error"
                    ).values(state="waiting", attempts=0, next_attempt_at=now, updated_at=now))
                    if not result.rowcount:
                        messages.append(f"document {doc.id} ({doc.source_key}): nothing in "
                                        "error, unchanged")
                        continue
                    text = f"document {doc.id} ({doc.source_key}): {result.rowcount} " \
                           "delivery(ies) waiting again"
                self._event(conn, "reset", pipeline=doc.pipeline, document_id=doc.id,
                            source_key=doc.source_key, actor=actor, message=text, at=now)
                messages.append(text)
        return messages

    def mark_manual(self, ids: Sequence[int], actor: str) -> list[str]:
        """The operator imported it by hand: open deliveries become `manual`, never sent."""
        messages = []
        now = utcnow()
        with self.tx() as conn:
            for doc in self._documents(conn, ids):
                busy = conn.execute(sa.select(sa.func.count()).where(
                    deliveries.c.document_id == doc.id,
                    deliveries.c.state == "processing")).scalar_one()
                if busy:
                    messages.append(f"document {doc.id} ({doc.source_key}): a delivery is in "
                                    "progress; try again when it has finished")
                    continue
                result = conn.execute(deliveries.update().where(
                    deliveries.c.document_id == doc.id,
                    deliveries.c.state.in_(("waiting", "error"))
                ).values(state="manual", updated_at=now, done_at=now))
                changed = result.rowcount or 0
                if doc.status in ("rejected", "repull"):
                    conn.execute(documents.update().where(documents.c.id == doc.id).values(
                        status="manual", updated_at=now))
                    changed += 1
                if not changed:
                    messages.append(f"document {doc.id} ({doc.source_key}): nothing open, "
                                    "unchanged")
                    continue
                text = f"document {doc.id} ({doc.source_key}): marked manually imported"
                self._event(conn, "manual", pipeline=doc.pipeline, document_id=doc.id,
                            source_key=doc.source_key, actor=actor, message=text, at=now)
                messages.append(text)
        return messages

    def queue_resend(self, delivery_ids: Sequence[int], actor: str) -> None:
        """done/revised -> waiting for a deliberate second delivery (the operator removed the
        first, or accepts a revision): the first step is looked up before anything is sent."""
        now = utcnow()
        with self.tx() as conn:
            rows = conn.execute(sa.select(deliveries.c.id, deliveries.c.document_id,
                                          deliveries.c.pipeline, deliveries.c.target)
                                .where(deliveries.c.id.in_(list(delivery_ids)),
                                       deliveries.c.state.in_(("done", "revised")))).all()
            for r in rows:
                conn.execute(delivery_steps.delete().where(delivery_steps.c.delivery_id == r.id))
                conn.execute(deliveries.update().where(deliveries.c.id == r.id).values(
                    state="waiting", resend=True, in_doubt=True, attempts=0, step=None,
                    next_attempt_at=now, updated_at=now))
                self._event(conn, "resend", pipeline=r.pipeline, document_id=r.document_id,
                            delivery_id=r.id, actor=actor, at=now,
                            message=f"resend to {r.target} requested")

    def keep(self, ids: Sequence[int], actor: str) -> list[str]:
        """revised -> done: the remote keeps what it has; the new revision is not sent."""
        messages = []
        now = utcnow()
        with self.tx() as conn:
            for doc in self._documents(conn, ids):
                result = conn.execute(deliveries.update().where(
                    deliveries.c.document_id == doc.id, deliveries.c.state == "revised"
                ).values(state="done", updated_at=now))
                if not result.rowcount:
                    messages.append(f"document {doc.id} ({doc.source_key}): nothing revised, "
                                    "unchanged")
                    continue
                text = (f"document {doc.id} ({doc.source_key}): the delivered revision is kept "
                        f"at {result.rowcount} target(s); the new one is not sent")
                self._event(conn, "kept", pipeline=doc.pipeline, document_id=doc.id,
                            source_key=doc.source_key, actor=actor, message=text, at=now)
                messages.append(text)
        return messages

    # -- runs and reloads

    def record_run(self, pipeline: str, started: datetime, finished: datetime | None,
                   next_run: datetime | None, summary: dict[str, Any] | None) -> None:
        values = {"last_started_at": started, "last_finished_at": finished,
                  "next_run_at": next_run, "last_summary": summary}
        with self.tx() as conn:
            conn.execute(self._insert(runs).values(pipeline=pipeline, **values)
                         .on_conflict_do_update(index_elements=[runs.c.pipeline], set_=values))

    def runs(self) -> dict[str, Any]:
        with self.engine.connect() as conn:
            return {r.pipeline: r for r in conn.execute(sa.select(runs))}

    def start_reload(self, pipeline: str, start: date, end: date, actor: str) -> Any:
        """The unfinished reload of exactly this range (resume), else a new one."""
        now = utcnow()
        with self.tx() as conn:
            row = conn.execute(sa.select(reloads).where(
                reloads.c.pipeline == pipeline, reloads.c.start == start, reloads.c.end == end,
                reloads.c.state == "running").order_by(reloads.c.id.desc())).first()
            if row is not None:
                return row
            rid = conn.execute(reloads.insert().returning(reloads.c.id).values(
                pipeline=pipeline, start=start, end=end, done_until=start, documents=0,
                state="running", actor=actor, created_at=now, updated_at=now)).scalar_one()
            self._event(conn, "reload", pipeline=pipeline, actor=actor, at=now,
                        message=f"reload {start} .. {end} started",
                        data={"start": start.isoformat(), "end": end.isoformat()})
            return conn.execute(sa.select(reloads).where(reloads.c.id == rid)).one()

    def finish_reload(self, reload_id: int) -> None:
        with self.tx() as conn:
            conn.execute(reloads.update().where(reloads.c.id == reload_id).values(
                state="done", updated_at=utcnow()))

