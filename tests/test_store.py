"""The state store on SQLite and PostgreSQL: ingest, dedup, revisions, claims, numbers, actions."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from syncd.connectors import NumberSeries, Rejected, Skipped, Verdict
from syncd.store import Outcome, Store, utcnow
from syncd.store.schema import deliveries

SERIES = NumberSeries("inv", "INV-{year}-{seq:04d}")


def no_series(_doc):
    return None


def series(_doc):
    return SERIES


@pytest.fixture
def store(state_url):
    s = Store.open(state_url)
    yield s
    s.close()


def done(claimed, ref="r1"):
    now = utcnow()
    return Outcome(claimed=claimed, state="done", action="deliver", result="done",
                   started_at=now, finished_at=now, remote_ref=ref)


def test_open_twice_migrates_once_and_sqlite_uses_wal(store, state_url):
    again = Store.open(state_url)
    with again.engine.connect() as conn:
        version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
        assert version == "0007"
        if again.dialect == "sqlite":
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    again.close()


def test_ingest_commits_documents_deliveries_and_cursor(store, make_document):
    docs = [make_document(f"k{i}") for i in range(3)]
    stats = store.ingest("p", "test", ["a", "b"], docs, {"offset": 3})
    assert (stats.new, stats.unchanged) == (3, 0)
    assert store.cursor("p", "test") == {"offset": 3}
    assert store.counts() == {"p": {"waiting": 6}}
    again = store.ingest("p", "test", ["a", "b"], docs, {"offset": 3})
    assert (again.new, again.unchanged) == (0, 3)
    assert store.counts() == {"p": {"waiting": 6}}


def test_failing_batch_commits_nothing(store, make_document):
    with pytest.raises(TypeError, match="expected a Document"):
        store.ingest("p", "test", ["a"], [make_document("k1"), object()], {"offset": 2})
    assert store.cursor("p", "test") is None
    assert store.counts() == {}


def test_revision_before_delivery_restarts_it(store, make_document):
    store.ingest("p", "test", ["a"], [make_document("k1")], None)
    store.ingest("p", "test", ["a"], [make_document("k1", net="11.00")], None)
    rows = store.list_documents()
    assert rows[0]["revision"] == 2 and rows[0]["state"] == "waiting"
    claimed = store.claim("p", "w", 10, timedelta(minutes=5), no_series)
    assert claimed[0].document.totals.net == 11


def test_revision_after_delivery_is_kept_visible_not_resent(store, make_document):
    store.ingest("p", "test", ["a"], [make_document("k1")], None)
    (c,) = store.claim("p", "w", 10, timedelta(minutes=5), no_series)
    store.finish("w", [done(c)])
    store.ingest("p", "test", ["a"], [make_document("k1", net="12.00")], None)
    detail = store.document_detail(c.document_id)
    assert [r["revision"] for r in detail["revisions"]] == [1, 2]
    assert detail["deliveries"][0]["state"] == "revised"
    assert detail["deliveries"][0]["delivered_revision"] == 1
    assert '"net": "12.00"' in detail["deliveries"][0]["diff"]
    assert any(e["kind"] == "revised" and "not sent again" in e["message"]
               for e in detail["events"])
    assert store.claim("p", "w", 10, timedelta(minutes=5), no_series) == []


def test_rejected_reset_and_superseded_by_valid_pull(store, make_document):
    store.ingest("p", "test", ["a"], [Rejected("k1", "bad total", {"x": 1})], None)
    (row,) = store.list_documents(state="error")
    assert row["error"] == "bad total"
    assert "waits for the source" in store.reset([row["id"]], "alice")[0]
    assert store.list_documents(state="waiting")[0]["id"] == row["id"]
    store.ingest("p", "test", ["a"], [make_document("k1")], None)
    detail = store.document_detail(row["id"])
    assert detail["status"] == "ok" and detail["revision"] == 1
    assert [d["state"] for d in detail["deliveries"]] == ["waiting"]
    assert any(e["kind"] == "reset" and e["actor"] == "alice" for e in detail["events"])


def test_skipped_and_verdicts_are_recorded(store, make_document):
    store.ingest("p", "test", ["a"], [make_document("k1"), Skipped("k2", "FBA order")], None)
    (c,) = store.claim("p", "w", 10, timedelta(minutes=5), no_series)
    store.finish("w", [done(c)])
    store.ingest("p", "test", ["a"], [Verdict("k1", "a", accepted=False, message="bad VAT",
                                              code="E7"), Verdict("k9", "a", accepted=True)],
                 None)
    kinds = [(e["kind"], e["source_key"]) for e in store.events()]
    assert ("skipped", "k2") in kinds and ("verdict-unmatched", "k9") in kinds
    (row,) = store.list_documents(state="error")
    assert row["error"] == "bad VAT"


def test_numbers_are_gapless_reused_and_reset_yearly(store, make_document):
    docs = [make_document(f"k{i}") for i in range(5)]
    docs.append(make_document("old", issue_date=date(2025, 12, 31)))
    store.ingest("p", "test", ["a"], docs, None)
    claimed = store.claim("p", "w", 3, timedelta(minutes=5), series, today=date(2026, 3, 1))
    assert [c.number for c in claimed] == ["INV-2026-0001", "INV-2026-0002", "INV-2026-0003"]
    assert claimed[0].document.issue_date == date(2026, 3, 1)
    assert store.release("w") == 3
    again = store.claim("p", "w", 10, timedelta(minutes=5), series, today=date(2026, 3, 2))
    numbers = {c.document.source_key: c.number for c in again}
    assert numbers == {"k0": "INV-2026-0001", "k1": "INV-2026-0002", "k2": "INV-2026-0003",
                       "k3": "INV-2026-0004", "k4": "INV-2026-0005", "old": "INV-2025-0001"}
    assert again[0].document.issue_date == date(2026, 3, 1)  # kept with the number


def test_expired_lease_is_taken_over_in_doubt(store, make_document):
    store.ingest("p", "test", ["a"], [make_document("k1")], None)
    (first,) = store.claim("p", "dead", 10, timedelta(seconds=-1), no_series)
    assert not first.in_doubt
    (second,) = store.claim("p", "alive", 10, timedelta(minutes=5), no_series)
    assert second.delivery_id == first.delivery_id and second.in_doubt
    assert store.claim("p", "third", 10, timedelta(minutes=5), no_series) == []


def test_finish_ignores_a_lost_lease(store, make_document):
    store.ingest("p", "test", ["a"], [make_document("k1")], None)
    (c,) = store.claim("p", "w1", 10, timedelta(seconds=-1), no_series)
    store.claim("p", "w2", 10, timedelta(minutes=5), no_series)
    store.finish("w1", [done(c)])
    with store.engine.connect() as conn:
        state = conn.execute(sa.select(deliveries.c.state, deliveries.c.lease_owner)).one()
    assert tuple(state) == ("processing", "w2")


def test_operator_actions_and_lists(store, make_document):
    store.ingest("p", "test", ["a"], [make_document(f"k{i}") for i in range(3)], None)
    claimed = store.claim("p", "w", 10, timedelta(minutes=5), no_series)
    now = utcnow()
    failed = Outcome(claimed=claimed[1], state="error", action="deliver", result="permanent",
                     started_at=now, finished_at=now, error_class="PermanentError",
                     error_code="400", error_message="VAT id invalid")
    store.finish("w", [done(claimed[0]), failed])
    store.release("w")
    assert [r["source_key"] for r in store.list_documents(state="done")] == ["k0"]
    assert [r["source_key"] for r in store.list_documents(state="error")] == ["k1"]
    assert [r["source_key"] for r in store.list_documents(state="waiting")] == ["k2"]
    ids = {r["source_key"]: r["id"] for r in store.list_documents()}
    assert "1 delivery(ies) waiting again" in store.reset([ids["k1"]], "bob")[0]
    assert "marked manually imported" in store.mark_manual([ids["k2"]], "bob")[0]
    assert [r["source_key"] for r in store.list_documents(state="manual")] == ["k2"]
    detail = store.document_detail(ids["k1"])
    assert detail["deliveries"][0]["attempt_history"][0]["error_message"] == "VAT id invalid"
    assert detail["deliveries"][0]["state"] == "waiting"
    with pytest.raises(Exception, match="no document with id 999"):
        store.reset([999], "bob")


def test_manually_imported_rejected_document_stays_manual_after_valid_pull(store,
                                                                          make_document):
    store.ingest("p", "test", ["a"], [Rejected("k1", "bad")], None)
    (row,) = store.list_documents(state="error")
    store.mark_manual([row["id"]], "ops")
    store.ingest("p", "test", ["a"], [make_document("k1")], None)
    assert store.document_detail(row["id"])["state"] == "manual"
    assert store.claim("p", "w", 10, timedelta(minutes=5), no_series) == []


def test_every_superseded_revision_keeps_its_content(store, make_document):
    from syncd.store.schema import revisions

    store.ingest("p", "test", ["a"], [make_document("k1")], None)
    store.ingest("p", "test", ["a"], [make_document("k1", net="11.00")], None)
    store.ingest("p", "test", ["a"], [make_document("k1", net="12.00")], None)
    with store.engine.connect() as conn:
        bodies = conn.execute(sa.select(revisions.c.revision, revisions.c.body)
                              .order_by(revisions.c.revision)).all()
    nets = [json.loads(b)["totals"]["net"] if b else None for _r, b in bodies]
    assert nets == ["10.00", "11.00", None]  # the current one is documents.body
    assert store.document_detail(1)["document"]["totals"]["net"] == "12.00"


def test_migrations_match_the_table_definitions(store):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from syncd.store.schema import metadata

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_sqlite_reads_do_not_wait_for_the_writer(tmp_path, make_document):
    """Only write transactions take SQLite's write lock: `syncd documents list` while the
    daemon commits reads its snapshot instead of queueing behind the writer."""
    import threading

    from syncd.store.schema import documents

    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        store.ingest("p", "test", ["t"], [make_document("a")], None)
        got: list[int] = []
        with store.tx() as conn:  # a writer holds BEGIN IMMEDIATE
            conn.execute(documents.update().values(kind="invoice"))
            reader = threading.Thread(
                target=lambda: got.append(len(store.list_documents().items)), daemon=True)
            reader.start()
            reader.join(timeout=10)
            assert not reader.is_alive(), "a read waited for the write lock"
            with pytest.raises(sa.exc.OperationalError, match="locked"):
                second = sa.create_engine(store.engine.url, connect_args={"timeout": 0.2})
                with second.connect() as other:
                    other.exec_driver_sql("BEGIN IMMEDIATE")
        assert got == [1]
    finally:
        store.close()
