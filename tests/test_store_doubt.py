"""How long an in-doubt delivery may still have been sending (`Claimed.in_doubt_since`).

A target whose remote shows an arrival only after a while (Amazon's VIDR) must wait from the
last attempt that may have sent, not from an earlier step: the store keeps that moment for
every in-doubt row, through lookups that send nothing, a dead worker and a release.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from syncd.store import Outcome, Store, utcnow


def no_series(_doc):
    return None


@pytest.fixture
def store(state_url):
    s = Store.open(state_url)
    yield s
    s.close()


def outcome(claimed, action: str, *, in_doubt: bool, ago: float = 0.0) -> Outcome:
    at = utcnow() - timedelta(seconds=ago)
    return Outcome(claimed=claimed, state="waiting", action=action, result="transient",
                   started_at=at, finished_at=at, next_attempt_at=utcnow(), in_doubt=in_doubt,
                   error_class="TransientError", error_message="lost answer", step="feed")


def claim(store: Store, owner: str = "w", lease: timedelta = timedelta(minutes=5)):
    (claimed,) = store.claim("p", owner, 10, lease, no_series)
    return claimed


def test_a_lost_answer_is_in_doubt_since_its_attempt_ended_and_a_lookup_keeps_that(
        store, make_document):
    store.ingest("p", "test", ["a"], [make_document("k1")], None)
    first = claim(store)
    assert not first.in_doubt and first.in_doubt_since is None
    sent = outcome(first, "deliver", in_doubt=True, ago=30)
    store.finish("w", [sent])
    second = claim(store)
    assert second.in_doubt and second.in_doubt_since == sent.finished_at
    store.finish("w", [outcome(second, "lookup", in_doubt=True)])  # "not yet": sent nothing
    third = claim(store)
    assert third.in_doubt_since == sent.finished_at
    resent = outcome(third, "deliver", in_doubt=True)  # looked up, sent again, lost again
    store.finish("w", [resent])
    assert claim(store).in_doubt_since == resent.finished_at


def test_a_dead_worker_may_have_sent_until_its_lease_ran_out(store, make_document):
    store.ingest("p", "test", ["a"], [make_document("k1")], None)
    claim(store, "dead", lease=timedelta(seconds=-1))
    taken = claim(store, "alive")
    assert taken.in_doubt and taken.in_doubt_since is not None
    assert utcnow() - timedelta(seconds=5) < taken.in_doubt_since < utcnow()


def test_a_release_in_doubt_marks_its_moment(store, make_document):
    store.ingest("p", "test", ["a"], [make_document("k1"), make_document("k2")], None)
    store.claim("p", "w", 10, timedelta(minutes=5), no_series)
    before = utcnow()
    assert store.release("w", in_doubt=True) == 2
    again = store.claim("p", "w", 10, timedelta(minutes=5), no_series)
    assert all(c.in_doubt and c.in_doubt_since and c.in_doubt_since >= before for c in again)
    store.finish("w", [outcome(again[0], "deliver", in_doubt=False)])  # surely not sent
    later = utcnow()
    store.release("w")  # the other one handed back unattempted: still in doubt, from now
    claimed = {c.delivery_id: c for c in store.claim("p", "w", 10, timedelta(minutes=5),
                                                      no_series)}
    clean, still = claimed[again[0].delivery_id], claimed[again[1].delivery_id]
    assert not clean.in_doubt and clean.in_doubt_since is None
    assert still.in_doubt and still.in_doubt_since and still.in_doubt_since >= later
