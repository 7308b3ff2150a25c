"""The dashboard's own queries on SQLite and PostgreSQL: lists, paging, per-day, events."""

from __future__ import annotations

from datetime import date

import pytest

from syncd.store import utcnow
from syncd.web import lists, queries
from tests.web_helpers import evil_document, make_site


@pytest.fixture
def site(tmp_path, document_sink, state_url):
    s = make_site(tmp_path, document_sink.url, count=9, state_url=state_url,
                  reject_keys=["doc-000001"])
    s.store.ingest("webshop", "synthetic", ["sink"], [evil_document("buyer-doc")], None,
                   store_cursor=False)
    yield s
    s.app.state.web.close()
    s.store.close()


def test_lists_pages_and_searches(site):
    store = site.store
    done = lists.ListFilter("done")
    first = lists.list_documents(store, done, limit=3)
    assert [r.id for r in first.rows] == [8, 7, 6] and first.prev_key is None
    second = lists.list_documents(store, done, after=first.next_key, limit=3)
    assert [r.id for r in second.rows] == [5, 4, 3] and second.prev_key == 5
    back = lists.list_documents(store, done, before=second.prev_key, limit=3)
    assert [r.id for r in back.rows] == [8, 7, 6] and back.next_key == 6
    last = lists.list_documents(store, done, after=3, limit=3)
    assert [r.id for r in last.rows] == [2, 1] and last.next_key is None
    (rejected,) = lists.list_documents(store, lists.ListFilter("error")).rows
    assert rejected.source_key == "doc-000001" and rejected.error == "test: told to reject"
    waiting = lists.list_documents(store, lists.ListFilter("waiting", q="<script>al")).rows
    assert [r.source_key for r in waiting] == ["buyer-doc"]
    number = store.document_detail(4)["number"]
    assert [r.id for r in lists.list_documents(store, lists.ListFilter(
        "done", q=number)).rows] == [4]
    assert lists.list_documents(store, lists.ListFilter("done", q="50%")).rows == []


def test_per_day_and_days_by_kind(site):
    today = utcnow().date()
    chart = queries.per_day(site.store, 30)
    assert len(chart) == 30 and chart[today] == {"done": 8, "waiting": 1}
    days = queries.days_by_kind(site.store, "webshop", date(2026, 1, 1), today)
    assert sum(d["total"] for d in days) == 10
    assert sum(d["done"] for d in days) == 8 and sum(d["error"] for d in days) == 1


def test_events_filter_and_page(site):
    rows, key = queries.list_events(site.store, queries.EventFilter(pipeline="webshop"), limit=2)
    assert len(rows) == 2 and key == rows[-1]["id"]
    more, _ = queries.list_events(site.store, queries.EventFilter(pipeline="webshop"), after=key)
    assert all(r["id"] < key for r in more)
    assert queries.event_choices(site.store)["kinds"]


def test_small_windows_give_the_same_pages(site, monkeypatch):
    """Lists read their feeds window by window; tiny windows must not lose or repeat rows."""
    whole = {s: [r.id for r in lists.list_documents(site.store, lists.ListFilter(s),
                                                      limit=100).rows]
             for s in ("done", "error", "waiting")}
    monkeypatch.setattr(lists, "WINDOW", 2)
    for state, expected in whole.items():
        seen, key = [], None
        while True:
            page = lists.list_documents(site.store, lists.ListFilter(state), after=key,
                                          limit=3)
            seen.extend(r.id for r in page.rows)
            if page.next_key is None:
                break
            key = page.next_key
        assert seen == expected, state
    back = lists.list_documents(site.store, lists.ListFilter("done"), before=2, limit=3)
    assert [r.id for r in back.rows] == [5, 4, 3]


def test_a_filter_matching_little_answers_in_steps(site, monkeypatch):
    """With the scan budget spent the page says how far it checked; walking on with the
    keys it gives finds exactly the rows of one unbounded pass, forwards and back."""
    whole = [r.id for r in lists.list_documents(site.store, lists.ListFilter("done"),
                                                limit=100).rows]
    for name, value in (("WINDOW", 2), ("MAX_WINDOW", 2), ("SCAN_BUDGET", 2)):
        monkeypatch.setattr(lists, name, value)
    for pipeline, expected in (("webshop", whole), ("uploads", [])):
        flt = lists.ListFilter("done", pipeline=pipeline)
        seen, key, partial = [], None, 0
        while True:
            page = lists.list_documents(site.store, flt, after=key, limit=3)
            seen.extend(r.id for r in page.rows)
            partial += page.checked_to is not None
            if page.next_key is None:
                break
            key = page.next_key
        assert seen == expected and partial >= 1, pipeline
    back = lists.list_documents(site.store, lists.ListFilter("done"), before=whole[-1], limit=3)
    assert back.rows and back.checked_to is not None and back.prev_key == back.checked_to
    client = site.login()
    text = client.get("/documents/done", params={"pipeline": "uploads"}).text
    assert "Checked the documents down to #" in text and 'rel="next"' in text
