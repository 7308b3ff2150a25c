"""Spine v2 links: a credit note waits for its invoice at the same target (no attempt spent),
then gets the invoice's number, issue date and remote reference in `Job.links`."""

from __future__ import annotations

from datetime import timedelta

from syncd.jobs import Job
from syncd.model import Link, LinkKind
from syncd.store import Outcome, utcnow
from syncd.testing.plugin import StepSinkTarget

from .spine_support import spine

__all__ = ["spine"]
STEPS = [{"name": "demo", "source": "synthetic", "targets": ["steps-sink"]}]


def test_credit_note_waits_for_its_invoice_without_spending_attempts(spine, document_sink):
    engine, config, store = spine(pipelines=STEPS, count=2, credit_keys=["doc-000001"],
                                  refuse_keys=["doc-000000"])
    pipeline = config.settings.pipelines[0]
    engine.run_cycle(pipeline)
    waiting = store.list_documents(state="waiting").items
    assert [r.source_key for r in waiting] == ["doc-000001"]
    (d,) = waiting[0].deliveries
    assert d.attempts == 0 and d.state == "waiting"
    assert d.waiting_for.startswith("waits for invoice doc-000000 at steps-sink (")
    shown = store.document_detail(waiting[0].id)["deliveries"][0]
    assert shown["waiting_for"].startswith("waits for invoice doc-000000")
    assert document_sink.received() == []


def test_credit_note_gets_the_invoices_remote_ref_and_number(spine, document_sink,
                                                             monkeypatch):
    jobs: list[Job] = []
    original = StepSinkTarget.run_step

    def spy(self, step, job):
        if step == "create":
            jobs.append(job)
        return original(self, step, job)

    monkeypatch.setattr(StepSinkTarget, "run_step", spy)
    engine, config, store = spine(pipelines=STEPS, count=2, credit_keys=["doc-000001"],
                                  engine={"batch_size": 1})
    engine.run_cycle(config.settings.pipelines[0])
    assert store.counts() == {"demo": {"done": 2}}
    invoice, credit = document_sink.received()
    assert credit["invoice_ref"] == invoice["id"]
    (link,) = [j.links[LinkKind.INVOICE] for j in jobs if j.links]
    assert link.number == invoice["number"] and link.issue_date is not None
    assert link.remote is not None and link.remote.ref == invoice["id"]
    assert list(link.steps) == ["create", "attach"]


def test_a_delivered_invoice_wakes_its_waiting_credit_note(syncd_store, make_document):
    store = syncd_store
    invoice = make_document("inv")
    credit = make_document("cn", kind="credit_note",
                           links=(Link(kind=LinkKind.INVOICE, source_key="inv"),))
    store.ingest("p", "test", ["t"], [credit], None)
    assert store.claim("p", "w", 10, timedelta(minutes=5), lambda d: None) == []
    assert store.list_documents()[0].deliveries[0].waiting_for.endswith("(not received yet)")
    # the invoice arrives in a later pull: the credit note, whose next periodic look is a
    # minute away, now waits for the invoice's delivery instead
    store.ingest("p", "test", ["t"], [invoice], None)
    (c,) = store.claim("p", "w", 10, timedelta(minutes=5), lambda d: None)
    assert c.document.source_key == "inv"
    now = utcnow()
    store.finish("w", [Outcome(claimed=c, state="done", action="deliver", result="done",
                               started_at=now, finished_at=now, remote_ref="R-1")])
    (woken,) = store.claim("p", "w", 10, timedelta(minutes=5), lambda d: None)
    assert woken.document.source_key == "cn"
    assert woken.links[LinkKind.INVOICE].remote.ref == "R-1"


def test_a_link_by_order_waits_for_the_one_invoice_of_that_order(syncd_store, make_document):
    """`LinkMatch(order_id=…)`: the source names the order, not the invoice (Amainvoice
    refunds whose rows name none); the store finds the order's one invoice when the delivery
    is claimed."""
    from syncd.model import LinkMatch, References

    store = syncd_store
    by_order = (Link(kind=LinkKind.INVOICE, match=LinkMatch(order_id="302-1")),)
    invoice = make_document("inv", references=References(order_id="302-1"))
    other = make_document("other", references=References(order_id="302-9"))
    credit = make_document("cn", kind="credit_note", references=References(order_id="302-1"),
                           links=by_order)
    plain = make_document("x", links=(Link(kind=LinkKind.INVOICE, source_key="inv"),))
    assert '"links":[{"kind":"invoice","required":true,"source":null,"source_key":"inv"}]' \
        in plain.canonical_json()  # without a match: the same JSON (and hash) as before
    store.ingest("p", "test", ["t"], [invoice, other, credit], None)
    claimed = store.claim("p", "w", 10, timedelta(minutes=5), lambda d: None)
    assert sorted(c.document.source_key for c in claimed) == ["inv", "other"]
    waiting = next(d for d in store.list_documents() if d.source_key == "cn")
    assert waiting.deliveries[0].waiting_for.startswith("waits for invoice inv at t (")
    now = utcnow()
    store.finish("w", [Outcome(claimed=c, state="done", action="deliver", result="done",
                               started_at=now, finished_at=now, remote_ref=f"R-{c.document_id}")
                       for c in claimed])
    (woken,) = store.claim("p", "w", 10, timedelta(minutes=5), lambda d: None)
    assert woken.document.source_key == "cn"
    linked = woken.links[LinkKind.INVOICE]
    assert linked.source_key == "inv"
    invoice_id = next(c.document_id for c in claimed if c.document.source_key == "inv")
    assert linked.remote.ref == f"R-{invoice_id}"


def test_a_link_by_order_with_no_single_invoice_waits_for_nothing(syncd_store, make_document):
    from syncd.model import LinkMatch, References

    store = syncd_store
    split = [make_document(k, references=References(order_id="302-2")) for k in ("a", "b")]
    credits = [make_document(k, kind="credit_note", references=References(order_id=o),
                             links=(Link(kind=LinkKind.INVOICE, match=LinkMatch(order_id=o)),))
               for k, o in (("cn-split", "302-2"), ("cn-unknown", "302-3"))]
    store.ingest("p", "test", ["t"], [*split, *credits], None)
    claimed = store.claim("p", "w", 10, timedelta(minutes=5), lambda d: None)
    assert sorted(c.document.source_key for c in claimed) == ["a", "b", "cn-split",
                                                              "cn-unknown"]
    assert all(c.links == {} for c in claimed)
