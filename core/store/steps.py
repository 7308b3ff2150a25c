"""Per-step results of deliveries: committed the moment a step returns (not the last one,
which commits with the delivery's outcome), so a crash after step 1 never repeats step 1."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from syncd.jobs import StepResult
from syncd.store.base import StoreBase, jsonable
from syncd.store.schema import deliveries, delivery_steps
from syncd.store.types import CHUNK, utcnow


class StepsMixin(StoreBase):
    def record_step(self, owner: str, delivery_id: int, step: str, position: int,
                    result: StepResult) -> bool:
        """Commit one step's result; False when the lease is no longer ours (stop sending)."""
        now = utcnow()
        with self.tx() as conn:
            owned = conn.execute(self._lock(sa.select(deliveries.c.id).where(
                deliveries.c.id == delivery_id, deliveries.c.lease_owner == owner,
                deliveries.c.state == "processing"))).first()
            if owned is None:
                return False
            self._write_steps(conn, owner, [(delivery_id, step, position, result)])
            values = {"step": step, "updated_at": now}
            if position == 0:
                values["remote_ref"] = result.ref
            conn.execute(deliveries.update().where(deliveries.c.id == delivery_id)
                         .values(**values))
        return True

    def _write_steps(self, conn: sa.Connection, owner: str,
                     rows: Sequence[tuple[int, str, int, StepResult]]) -> None:
        """Upsert step results in one executemany (a repeated step keeps the newest)."""
        if not rows:
            return
        now = utcnow()
        stmt = self._insert(delivery_steps)
        stmt = stmt.on_conflict_do_update(
            index_elements=[delivery_steps.c.delivery_id, delivery_steps.c.step],
            set_={name: stmt.excluded[name]
                  for name in ("position", "ref", "detail", "worker", "done_at")})
        conn.execute(stmt, [
            {"delivery_id": delivery_id, "step": step, "position": position,
             "ref": result.ref, "worker": owner, "done_at": now,
             "detail": jsonable(dict(result.detail)) if result.detail else None}
            for delivery_id, step, position, result in rows])

    def _steps_of(self, conn: sa.Connection,
                  ids: Sequence[int]) -> dict[int, dict[str, StepResult]]:
        out: dict[int, dict[str, StepResult]] = {}
        ids = list(ids)
        for i in range(0, len(ids), CHUNK):
            rows = conn.execute(sa.select(delivery_steps).where(
                delivery_steps.c.delivery_id.in_(ids[i:i + CHUNK]))
                .order_by(delivery_steps.c.delivery_id, delivery_steps.c.position))
            for r in rows:
                out.setdefault(r.delivery_id, {})[r.step] = StepResult(r.ref, r.detail or {})
        return out

    def steps_of(self, delivery_id: int) -> dict[str, StepResult]:
        with self.engine.connect() as conn:
            return self._steps_of(conn, [delivery_id]).get(delivery_id, {})
