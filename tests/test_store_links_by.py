"""Engine state read for connectors: links by references (`LinkMatch`) found by shipping id,
waiting (and woken) while none has arrived, and a target's open deliveries (`Deliveries`), on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from syncd.model import Link, LinkKind, LinkMatch, References
from syncd.store import Outcome, Store, utcnow
from syncd.store.schema import deliveries

LEASE = timedelta(minutes=5)


@pytest.fixture
def store(state_url):
    s = Store.open(state_url)
    yield s
    s.close()


def claim(store: Store) -> list:
    return store.claim("p", "w", 10, LEASE, lambda d: None)


def done(store: Store, claimed, ref: str) -> None:
    now = utcnow()
    store.finish("w", [Outcome(claimed=claimed, state="done", action="deliver", result="done",
                               started_at=now, finished_at=now, remote_ref=ref)])


def by_shipping(shipping_id: str, order_id: str | None = None) -> Link:
    return Link(kind=LinkKind.INVOICE, match=LinkMatch(shipping_id=shipping_id,
                                                       order_id=order_id))


def test_a_link_names_exactly_one_document():
    with pytest.raises(ValueError, match="exactly one"):
        Link(kind=LinkKind.INVOICE)
    with pytest.raises(ValueError, match="exactly one"):
        Link(kind=LinkKind.INVOICE, source_key="k", match=LinkMatch(shipping_id="S1"))


def test_credit_note_waits_for_an_invoice_named_by_shipping_id_and_is_woken(
        store, make_document):
    credit = make_document("S1/RETURN/R1", kind="credit_note",
                           references=References(shipping_id="S1"), links=(by_shipping("S1"),))
    store.ingest("p", "test", ["t"], [credit], None)
    assert claim(store) == []
    (row,) = store.list_documents().items
    assert row.deliveries[0].waiting_for == ("waits for invoice with shipping id S1 at t "
                                             "(not received yet)")
    # another shipment's invoice and the credit note's own kind answer nothing
    other = make_document("S2/SHIPMENT/T2", references=References(shipping_id="S2"))
    store.ingest("p", "test", ["t"], [other], None)
    (c,) = claim(store)
    assert c.document.source_key == "S2/SHIPMENT/T2"
    done(store, c, "R-2")
    assert claim(store) == []
    # the invoice arrives in a later pull: the waiting credit note is tied to it at once
    invoice = make_document("S1/SHIPMENT/T1", references=References(shipping_id="S1"))
    store.ingest("p", "test", ["t"], [invoice], None)
    with store.engine.connect() as conn:
        waits = conn.execute(sa.select(deliveries.c.blocked_by, deliveries.c.awaits_key)
                             .where(deliveries.c.blocked_by.is_not(None))).all()
    assert len(waits) == 1 and waits[0].awaits_key is None
    (c,) = claim(store)
    assert c.document.source_key == "S1/SHIPMENT/T1"
    done(store, c, "R-1")
    (woken,) = claim(store)
    assert woken.document.source_key == "S1/RETURN/R1"
    link = woken.links[LinkKind.INVOICE]
    assert link.source_key == "S1/SHIPMENT/T1" and link.remote.ref == "R-1"


def test_the_first_received_invoice_answers_and_order_id_narrows(store, make_document):
    first = make_document("S1/SHIPMENT/T1", references=References(shipping_id="S1",
                                                                  order_id="O-1"))
    correction = make_document("S1/SHIPMENT/Correction:S1",
                               references=References(shipping_id="S1", order_id="O-2"))
    store.ingest("p", "test", ["t"], [first, correction], None)
    for c in claim(store):
        done(store, c, f"R-{c.document.source_key}")
    plain = make_document("S1/RETURN/R1", kind="credit_note",
                          references=References(shipping_id="S1"), links=(by_shipping("S1"),))
    narrowed = make_document("S1/RETURN/R2", kind="credit_note",
                             references=References(shipping_id="S1"),
                             links=(by_shipping("S1", order_id="O-2"),))
    unknown = make_document("S1/RETURN/R3", kind="credit_note",
                            references=References(shipping_id="S1"),
                            links=(by_shipping("S1", order_id="O-9"),))
    store.ingest("p", "test", ["t"], [plain, narrowed, unknown], None)
    got = {c.document.source_key: c.links[LinkKind.INVOICE].source_key for c in claim(store)}
    assert got == {"S1/RETURN/R1": "S1/SHIPMENT/T1",
                   "S1/RETURN/R2": "S1/SHIPMENT/Correction:S1"}
    waiting = [r for r in store.list_documents().items if r.deliveries[0].waiting_for]
    assert [r.source_key for r in waiting] == ["S1/RETURN/R3"]
    assert waiting[0].deliveries[0].waiting_for.startswith(
        "waits for invoice with shipping id S1 and order id O-9 at t")


def test_an_optional_match_that_answers_nothing_does_not_hold_the_delivery(
        store, make_document):
    credit = make_document("S1/RETURN/R1", kind="credit_note",
                           original_invoice_number="INV-1",
                           links=(Link(kind=LinkKind.INVOICE, required=False,
                                       match=LinkMatch(shipping_id="S1")),))
    store.ingest("p", "test", ["t"], [credit], None)
    (c,) = claim(store)
    assert c.links == {}


def test_a_targets_open_deliveries_are_read_from_the_store(store, make_document):
    """`ConnectorContext.deliveries` (`StoreDeliveries`): not-done deliveries of one
    pipeline's target, oldest first, with their documents."""
    from syncd.store.open_deliveries import StoreDeliveries

    docs = [make_document(f"k{i}", references=References(shipping_id=f"S{i}"))
            for i in range(3)]
    store.ingest("p", "test", ["t", "u"], docs, None)
    store.ingest("q", "test", ["t"], [make_document("other")], None)
    mine = StoreDeliveries(store, "p", "t")
    assert [(o.source_key, o.state) for o in mine.open()] == [
        ("k0", "waiting"), ("k1", "waiting"), ("k2", "waiting")]
    claimed = [c for c in claim(store) if c.target == "t"]
    done(store, next(c for c in claimed if c.document.source_key == "k1"), "R-1")
    got = list(mine.open())
    assert [(o.source_key, o.state) for o in got] == [("k0", "processing"),
                                                       ("k2", "processing")]
    assert got[0].document.references.shipping_id == "S0"
