"""The overview's and /metrics' counts: operator states live, the rest from a snapshot that
is refreshed in the background (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from syncd.store import Store
from syncd.store.schema import deliveries
from syncd.web import metrics
from syncd.web.stats import Aggregates
from tests.test_web_search import doc


@pytest.fixture
def store(state_url):
    s = Store.open(state_url)
    s.ingest("shop", "synthetic", ["t"], [doc(k, name="Anna") for k in "abc"], None,
             store_cursor=False)
    yield s
    s.close()


def set_state(store: Store, doc_id: int, state: str) -> None:
    with store.tx() as conn:
        conn.execute(deliveries.update().where(deliveries.c.document_id == doc_id)
                     .values(state=state))


def test_operator_states_are_live_and_done_follows_the_snapshot(store):
    agg = Aggregates(store, ttl=3600)
    assert agg.per_pipeline(["shop"]) == {"shop": {"waiting": 3}}
    set_state(store, 1, "done")
    set_state(store, 2, "error")
    # the error shows at once; the done count is the snapshot's, taken before
    assert agg.per_pipeline(["shop"]) == {"shop": {"waiting": 1, "error": 1}}
    assert agg.per_pipeline(["other"]) == {}
    agg.ttl = 0
    agg.snapshot()  # stale: answered from the old snapshot, refreshed in the background
    agg.wait()
    assert agg.per_pipeline(["shop"]) == {"shop": {"waiting": 1, "error": 1, "done": 1}}
    agg.close()


def test_metrics_come_from_one_snapshot(store):
    agg = Aggregates(store, ttl=3600)
    set_state(store, 3, "error")
    text = metrics.render(agg, lambda: {"shop": ["t: late"]}).decode()
    assert 'syncd_deliveries{pipeline="shop",state="error",target="t"} 1.0' in text
    assert 'syncd_deliveries{pipeline="shop",state="waiting",target="t"} 2.0' in text
    assert 'syncd_deadline_warnings{pipeline="shop"} 1.0' in text
    set_state(store, 1, "done")
    assert "state=\"done\"" not in metrics.render(agg, dict).decode()  # 3600 s old at most
    agg.close()


def test_a_failed_refresh_keeps_the_last_snapshot(store, monkeypatch):
    agg = Aggregates(store, ttl=0)
    first = agg.snapshot()

    def broken(_store):
        raise sa.exc.OperationalError("SELECT", {}, Exception("database is gone"))

    monkeypatch.setattr("syncd.web.stats.take_snapshot", broken)
    assert agg.snapshot() is first
    agg.wait()
    assert agg.snapshot() is first
    agg.close()


def test_priming_takes_the_first_snapshot_in_the_background(store, monkeypatch):
    agg = Aggregates(store, ttl=3600)
    agg.prime()
    agg.wait()
    taken = agg._snapshot
    monkeypatch.setattr("syncd.web.stats.take_snapshot", lambda _s: pytest.fail("again"))
    assert taken is not None and agg.snapshot() is taken
    agg.close()
