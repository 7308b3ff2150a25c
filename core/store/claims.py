"""Claims and leases: due deliveries are leased, validated and numbered in one transaction;
outcomes are written in groups, only for rows the writer still owns.

A poison row (a stored body that no longer validates, a target refusing the document, a
broken number series) goes to `error` alone with its reason; the rest of the claim flows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from syncd.connectors import NumberSeries
from syncd.model import Document
from syncd.numbering import format_number
from syncd.store.attachments import AttachmentsMixin
from syncd.store.links import LINK_RECHECK_SECONDS, LinksMixin
from syncd.store.numbering import Numbering, NumberingMixin
from syncd.store.schema import attempts, deliveries, documents, events
from syncd.store.steps import StepsMixin
from syncd.store.types import Claimed, Outcome, utcnow


class ClaimsMixin(NumberingMixin, StepsMixin, AttachmentsMixin, LinksMixin):
    def claim(self, pipeline: str, owner: str, limit: int, lease: timedelta,
              numbering: Numbering, *, today: date | None = None,
              only_ids: Sequence[int] | None = None,
              targets: Sequence[str] | None = None) -> list[Claimed]:
        """Lease due deliveries (and expired leases of dead workers), number their documents.

        A delivery taken over from an expired lease may have reached the remote: it is marked
        in doubt so that the engine looks it up before sending. `today` is the seller's day.
        """
        now = utcnow()
        today = today or date.today()
        with self.tx() as conn:
            rows = self._due(conn, pipeline, limit, now, only_ids, targets)
            if not rows:
                return []
            found = {r.id: r for r in conn.execute(
                sa.select(documents.c.id, documents.c.source, documents.c.body,
                          documents.c.revision, documents.c.number, documents.c.issue_date)
                .where(documents.c.id.in_({r.document_id for r in rows})))}
            parsed: dict[int, Document | str] = {}
            for doc_id, d in found.items():
                try:
                    parsed[doc_id] = Document.from_stored(d.body or "")
                except ValueError as exc:
                    parsed[doc_id] = f"the stored document no longer validates: {exc}"
            failed: dict[int, tuple[str, str]] = {}  # delivery id -> (error class, message)
            for r in rows:
                if isinstance(parsed[r.document_id], str):
                    failed[r.id] = ("InvalidDocument", str(parsed[r.document_id]))
            waiting = [r for r in rows if r.id not in failed and r.state == "waiting"]
            link_state = self._resolve_links(conn, [
                (r.id, found[r.document_id].source, r.target, parsed[r.document_id])
                for r in rows if r.id not in failed and parsed[r.document_id].links])
            blocked = {r.id for r in waiting
                       if (s := link_state.get(r.id)) is not None and s.waiting_for}
            live = [r for r in rows if r.id not in failed and r.id not in blocked]
            numbers, validated = self._numbers(conn, live, found, parsed, numbering, failed,
                                               today, now)
            live = [r for r in live if r.id not in failed]
            steps = self._steps_of(conn, [r.id for r in live])
            files = self._attachments_of(conn, {r.document_id: parsed[r.document_id]
                                                for r in live}.items())
            claimed = []
            for r in live:
                doc = parsed[r.document_id]
                assert isinstance(doc, Document)
                number, issued = numbers.get(r.document_id, (None, None))
                if number is not None:
                    doc = doc.with_number(number, issue_date=issued)
                ready, missing = files.get(r.document_id, ([], []))
                state = link_state.get(r.id)
                claimed.append(Claimed(
                    delivery_id=r.id, document_id=r.document_id, pipeline=pipeline,
                    target=r.target, document=doc, revision=found[r.document_id].revision,
                    attempts=r.attempts, in_doubt=bool(r.in_doubt) or r.state == "processing",
                    in_doubt_since=r.lease_expires_at if r.in_doubt or r.state == "processing"
                    else None,
                    resend=bool(r.resend), number=number, steps=steps.get(r.id, {}),
                    links=state.links if state else {}, attachments=list(ready),
                    to_fetch=list(missing), validated=r.document_id in validated))
            if live:
                d = deliveries
                conn.execute(d.update().where(d.c.id.in_([r.id for r in live])).values(
                    # SET sees the old row: a delivery taken from a dead worker is in doubt
                    in_doubt=sa.or_(d.c.in_doubt, d.c.state == "processing"),
                    state="processing", lease_owner=owner, lease_expires_at=now + lease,
                    waiting_for=None, blocked_by=None, awaits_key=None, updated_at=now))
            self._hold(conn, [(i, link_state[i]) for i in blocked], now)
            self._fail(conn, pipeline, owner, [r for r in rows if r.id in failed], found,
                       failed, now)
            return claimed

    def _due(self, conn: sa.Connection, pipeline: str, limit: int, now: datetime,
             only_ids: Sequence[int] | None, targets: Sequence[str] | None) -> list[Any]:
        d = deliveries
        columns = (d.c.id, d.c.state, d.c.document_id, d.c.target, d.c.attempts, d.c.in_doubt,
                   d.c.resend, d.c.lease_expires_at)
        scope = [d.c.pipeline == pipeline]
        if only_ids is not None:
            scope.append(d.c.id.in_(list(only_ids)))
        if targets is not None:
            scope.append(d.c.target.in_(list(targets)))
        # two index range scans on (pipeline, state, time): dead workers' leases first
        rows = conn.execute(
            sa.select(*columns).where(*scope, d.c.state == "processing",
                                      d.c.lease_expires_at < now)
            .order_by(d.c.lease_expires_at).limit(limit)
            .with_for_update(skip_locked=True)).all()
        if len(rows) < limit:
            rows += conn.execute(
                sa.select(*columns).where(*scope, d.c.state == "waiting",
                                          d.c.next_attempt_at <= now)
                .order_by(d.c.next_attempt_at).limit(limit - len(rows))
                .with_for_update(skip_locked=True)).all()
        rows.sort(key=lambda r: r.id)
        return rows

    def _numbers(self, conn: sa.Connection, live: list[Any], found: dict[int, Any],
                 parsed: dict[int, Any], numbering: Numbering,
                 failed: dict[int, tuple[str, str]], today: date, now: datetime
                 ) -> tuple[dict[int, tuple[str | None, date | None]], set[int]]:
        """Each document's number: stored, given by its source, or allocated now once the
        pipeline's targets accepted it. Refusals land in `failed` (no number spent)."""
        out: dict[int, tuple[str | None, date | None]] = {}
        unnumbered = []
        for doc_id in sorted({r.document_id for r in live}):
            row, doc = found[doc_id], parsed[doc_id]
            if row.number is not None:
                out[doc_id] = (row.number, row.issue_date)
            elif doc.number is not None:
                out[doc_id] = (doc.number, doc.issue_date)
            else:
                unnumbered.append(doc_id)
        if unnumbered and self.dialect == "postgresql":
            # another pipeline's worker may number the same document right now: queue behind it
            locked = set(conn.execute(sa.select(documents.c.id).where(
                documents.c.id.in_(unnumbered), documents.c.number.is_(None))
                .order_by(documents.c.id).with_for_update()).scalars())
            for doc_id in [i for i in unnumbered if i not in locked]:
                row = conn.execute(sa.select(documents.c.number, documents.c.issue_date)
                                   .where(documents.c.id == doc_id)).one()
                out[doc_id] = (row.number, row.issue_date)
            unnumbered = [i for i in unnumbered if i in locked]
        need: dict[int, tuple[Document, NumberSeries]] = {}
        refused: dict[int, tuple[str, str]] = {}
        validated: set[int] = set()
        checked: set[NumberSeries] = set()
        for doc_id in unnumbered:
            try:
                series = numbering(parsed[doc_id])
                if series is not None and series not in checked:
                    format_number(series, 1, today)  # a broken format fails here, alone
                    checked.add(series)
            except Exception as exc:  # a refusal or broken series: this document alone
                refused[doc_id] = (type(exc).__name__, f"not numbered: {exc}")
                continue
            validated.add(doc_id)
            if series is not None:
                need[doc_id] = (parsed[doc_id], series)
            else:
                out[doc_id] = (None, None)
        for doc_id, numbered in self._number_documents(conn, need, today, now).items():
            out[doc_id] = (numbered.number, numbered.issue_date)
        for r in live:
            if r.document_id in refused:
                failed[r.id] = refused[r.document_id]
        return out, validated

    def _hold(self, conn: sa.Connection, held: list[tuple[int, Any]], now: datetime) -> None:
        """Deliveries whose required links are not done: waiting, no attempt spent."""
        if not held:
            return
        conn.execute(
            deliveries.update().where(deliveries.c.id == sa.bindparam("b_id")).values(
                waiting_for=sa.bindparam("b_why"), blocked_by=sa.bindparam("b_by"),
                awaits_key=sa.bindparam("b_key"),
                next_attempt_at=now + timedelta(seconds=LINK_RECHECK_SECONDS), updated_at=now),
            [{"b_id": i, "b_why": s.waiting_for, "b_by": s.blocked_by, "b_key": s.awaits_key}
             for i, s in held])

    def _fail(self, conn: sa.Connection, pipeline: str, owner: str, rows: list[Any],
              found: dict[int, Any], failed: dict[int, tuple[str, str]], now: datetime) -> None:
        if not rows:
            return
        conn.execute(
            deliveries.update().where(deliveries.c.id == sa.bindparam("b_id")).values(
                state="error", error_class=sa.bindparam("b_class"), error_code=None,
                error_message=sa.bindparam("b_msg"), lease_owner=None, lease_expires_at=None,
                updated_at=now),
            [{"b_id": r.id, "b_class": failed[r.id][0], "b_msg": failed[r.id][1][:4000]}
             for r in rows])
        self._insert_many(conn, events, [
            {"at": now, "pipeline": pipeline, "kind": "error", "document_id": r.document_id,
             "delivery_id": r.id, "actor": owner,
             "message": f"{r.target}: {failed[r.id][0]}: {failed[r.id][1]}"[:4000],
             "data": {"target": r.target}} for r in rows])

    def renew(self, owner: str, ids: Sequence[int], lease: timedelta) -> set[int]:
        """Extend our leases; returns the ids still ours (a lost one must not be sent on)."""
        if not ids:
            return set()
        d = deliveries
        with self.tx() as conn:
            conn.execute(d.update().where(
                d.c.id.in_(list(ids)), d.c.lease_owner == owner,
                d.c.state == "processing").values(lease_expires_at=utcnow() + lease))
            return set(conn.execute(sa.select(d.c.id).where(
                d.c.id.in_(list(ids)), d.c.lease_owner == owner,
                d.c.state == "processing")).scalars())

    def release(self, owner: str, ids: Sequence[int] | None = None, *,
                in_doubt: bool = False) -> int:
        """Hand claimed deliveries back: waiting again, no attempt counted.

        `in_doubt=True` when they may have been attempted (cleanup after a failure): the next
        attempt then looks them up first.
        """
        now = utcnow()
        d = deliveries
        # an in-doubt row keeps the end of its lease: until then this worker may have sent
        until = now if in_doubt else sa.case((d.c.in_doubt, now), else_=None)
        extra = {"in_doubt": True} if in_doubt else {}
        with self.tx() as conn:
            stmt = d.update().where(d.c.lease_owner == owner, d.c.state == "processing")
            if ids is not None:
                stmt = stmt.where(d.c.id.in_(list(ids)))
            result = conn.execute(stmt.values(state="waiting", lease_owner=None,
                                              lease_expires_at=until, updated_at=now, **extra))
            return result.rowcount or 0

    def finish(self, owner: str, outcomes: Sequence[Outcome]) -> list[Outcome]:
        """Write outcomes, history rows and events in one transaction, for rows still ours.

        Returns the outcomes not written because the lease was lost meanwhile.
        """
        if not outcomes:
            return []
        now = utcnow()
        d = deliveries
        with self.tx() as conn:
            ids = [o.claimed.delivery_id for o in outcomes]
            # rows still ours, with their document's current revision (it may have changed
            # while the delivery was on its way: then the operator decides, state revised)
            owned = dict(conn.execute(self._lock(
                sa.select(d.c.id, documents.c.revision)
                .join(documents, documents.c.id == d.c.document_id).where(
                    d.c.id.in_(ids), d.c.lease_owner == owner, d.c.state == "processing")))
                .all())
            lost = [o for o in outcomes if o.claimed.delivery_id not in owned]
            mine = [o for o in outcomes if o.claimed.delivery_id in owned]
            if not mine:
                return lost
            self._update_many(conn, d, [self._outcome_row(o, now, owned[o.claimed.delivery_id])
                                        for o in mine], keep=("remote_ref", "delivered_revision"))
            # a single step's result is the delivery's remote reference: no extra row
            self._write_steps(conn, owner, [(o.claimed.delivery_id, *o.last_step)
                                            for o in mine if o.last_step and o.state == "done"
                                            and o.last_step[1] > 0])
            done = [o for o in mine if o.state == "done"]
            if done:
                # deliveries waiting for these documents (links) look again now. Only held
                # deliveries have blocked_by (a claim clears it), so no state test: with one
                # the planner may scan every waiting row instead of the blocked_by index
                conn.execute(d.update().where(
                    d.c.blocked_by.in_({o.claimed.document_id for o in done}))
                    .values(next_attempt_at=now))
            self._insert_many(conn, attempts, [
                {"delivery_id": o.claimed.delivery_id, "attempt": o.claimed.attempts + 1,
                 "worker": owner, "action": o.action, "outcome": o.result, "step": o.step,
                 "error_class": o.error_class, "error_code": o.error_code,
                 "error_message": o.error_message, "remote_ref": o.remote_ref,
                 "started_at": o.started_at, "finished_at": o.finished_at}
                for o in mine])
            self._insert_many(conn, events, [
                {"at": o.finished_at, "pipeline": o.claimed.pipeline, "kind": _event_kind(o),
                 "document_id": o.claimed.document_id, "delivery_id": o.claimed.delivery_id,
                 "source_key": o.claimed.document.source_key, "actor": owner,
                 "message": _event_message(o), "data": {"target": o.claimed.target,
                                                        "number": o.claimed.number,
                                                        "step": o.step}}
                for o in mine])
        return lost

    @staticmethod
    def _outcome_row(o: Outcome, now: datetime, revision: int) -> dict[str, Any]:
        """The delivery's new columns; None in remote_ref / delivered_revision keeps them."""
        done = o.state == "done"
        current = o.claimed
        changed = done and o.result != "refused" and revision > current.revision
        return {
            "id": current.delivery_id,
            "state": "revised" if changed else o.state,
            "attempts": current.attempts + 1,
            "next_attempt_at": o.next_attempt_at or now,
            "in_doubt": o.in_doubt,
            "resend": False,
            "step": o.step,
            "error_class": None if done else o.error_class,
            "error_code": None if done else o.error_code,
            "error_message": None if done else o.error_message,
            "remote_ref": o.remote_ref,
            "remote_detail": o.remote_detail,
            # a refused resend sent nothing: the delivered revision stays what it was
            "delivered_revision": current.revision if done and o.result != "refused" else None,
            "done_at": o.finished_at if done else None,
            "lease_owner": None,
            "lease_expires_at": _doubt_until(o),
            "updated_at": now,
        }


def _doubt_until(o: Outcome) -> datetime | None:
    """Kept in lease_expires_at of an in-doubt row: until when a request may have been sent.

    An attempt that ran steps may have sent until it ended; a lookup or fetch sent nothing,
    so the earlier bound stays. A target waits from there before trusting a lookup.
    """
    if not o.in_doubt:
        return None
    if o.action == "deliver":
        return o.finished_at
    return o.claimed.in_doubt_since


def _event_kind(o: Outcome) -> str:
    if o.state == "done":
        return "delivered" if o.result == "done" else "found-existing"
    return "retry" if o.state == "waiting" else "error"


def _event_message(o: Outcome) -> str:
    target = o.claimed.target
    if o.state == "done":
        verb = "delivered to" if o.result == "done" else "already on"
        return f"{verb} {target} as {o.remote_ref}"
    where = f" (step {o.step})" if o.step else ""
    text = f"{target}{where}: {o.error_class}: {o.error_message}"
    if o.state == "waiting" and o.next_attempt_at:
        text += f" (retry at {o.next_attempt_at.isoformat(timespec='seconds')}Z)"
    return text
