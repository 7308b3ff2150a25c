"""Spine v2 delivery defects: blind re-sends after a reset, lost leases, stale verdicts,
revisions of delivered documents, pull failures under --once, acks, later-added targets."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from syncd.connectors import Verdict
from syncd.daemon import Daemon
from syncd.engine.heartbeat import Heartbeat, check_lease
from syncd.errors import ConfigError
from syncd.store import Outcome, utcnow
from syncd.store.schema import attempts, deliveries
from syncd.testing.plugin import NoopTarget, SinkTarget, StepSinkTarget

from .spine_support import run_cli, spine

__all__ = ["spine"]


def done(store, claimed, ref):
    now = utcnow()
    store.finish("w", [Outcome(claimed=claimed, state="done", action="deliver", result="done",
                               started_at=now, finished_at=now, remote_ref=ref)])


def test_garbage_after_the_remote_accepted_is_looked_up_never_resent(spine, document_sink,
                                                                     monkeypatch):
    original = SinkTarget.deliver

    def accepted_then_garbage(self, document):
        original(self, document)  # the remote stored it ...
        raise ValueError("Expecting value: line 1 column 1 (char 0)")  # ... the answer is junk

    monkeypatch.setattr(SinkTarget, "deliver", accepted_then_garbage)
    engine, config, store = spine(count=1, engine={"max_attempts": 1})
    pipeline = config.settings.pipelines[0]
    engine.run_cycle(pipeline)
    (row,) = store.list_documents(state="error")
    (d,) = store.document_detail(row.id)["deliveries"]
    assert d["in_doubt"] and d["error_class"] == "TransientError"
    assert "may have reached the remote" in d["error_message"]
    monkeypatch.setattr(SinkTarget, "deliver", original)
    store.reset([row.id], "op")
    engine.run_cycle(pipeline)
    assert store.counts() == {"demo": {"done": 1}}
    assert [e["duplicate"] for e in document_sink.received()] == [False]  # sent once
    history = store.document_detail(row.id)["deliveries"][0]["attempt_history"]
    assert [(a["action"], a["outcome"]) for a in history][-1] == ("lookup", "found")


def test_a_lost_lease_stops_the_steps_and_records_nothing(spine, document_sink, monkeypatch):
    engine, config, store = spine(count=1, pipelines=[
        {"name": "demo", "source": "synthetic", "targets": ["steps-sink"]}])
    pipeline = config.settings.pipelines[0]
    original = StepSinkTarget.run_step

    def stolen_during_create(self, step, job):
        result = original(self, step, job)
        with store.tx() as conn:  # another worker took the row over meanwhile
            conn.execute(deliveries.update().values(lease_owner="rival"))
        return result

    monkeypatch.setattr(StepSinkTarget, "run_step", stolen_during_create)
    engine.run_cycle(pipeline)
    assert document_sink.files("steps:synthetic:doc-000000") == []  # attach never ran
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(attempts)).scalar() == 0
        state = conn.execute(sa.select(deliveries.c.state, deliveries.c.lease_owner)).one()
    assert tuple(state) == ("processing", "rival")


def test_the_heartbeat_reports_rows_it_no_longer_owns(syncd_store, make_document):
    syncd_store.ingest("p", "test", ["a"], [make_document("k1"), make_document("k2")], None)
    claimed = syncd_store.claim("p", "me", 10, timedelta(seconds=5), lambda d: None)
    beat = Heartbeat(syncd_store, "me", timedelta(seconds=5))
    beat.track(c.delivery_id for c in claimed)
    with syncd_store.tx() as conn:
        conn.execute(deliveries.update().where(deliveries.c.id == claimed[0].delivery_id)
                     .values(lease_owner="rival"))
    beat.beat()
    assert beat.lost(claimed[0].delivery_id) and not beat.lost(claimed[1].delivery_id)


def test_a_lease_too_short_for_the_heartbeat_is_refused():
    import pytest

    with pytest.raises(ConfigError, match="too short for the lease heartbeat"):
        check_lease(timedelta(milliseconds=500))


def test_a_verdict_flips_only_the_upload_it_names(state_url, make_document):
    from syncd.store import Store

    store = Store.open(state_url)
    store.ingest("p", "test", ["a"], [make_document("k1"), make_document("k2")], None)
    first, _second = store.claim("p", "w", 10, timedelta(minutes=5), lambda d: None)
    done(store, first, "feed-2")
    store.ingest("p", "test", ["a"], [
        Verdict("k1", "a", accepted=False, message="old upload", remote_ref="feed-1"),
        Verdict("k2", "a", accepted=False, message="in flight")], None)
    assert store.list_documents(state="error").items == []
    kinds = [e["kind"] for e in store.events() if e["kind"].startswith("verdict")]
    assert kinds == ["verdict-stale", "verdict-stale"]
    store.ingest("p", "test", ["a"], [Verdict("k1", "a", accepted=False, message="bad",
                                              remote_ref="feed-2")], None)
    (row,) = store.list_documents(state="error")
    assert row.source_key == "k1" and row.error == "bad"
    store.close()


def test_a_verdict_taken_before_the_last_upload_finished_is_ignored(state_url,
                                                                   make_document):
    """A remote that names no upload (Amazon's VIDR) says when it looked: a report taken
    before the current upload finished may judge an older one."""
    from datetime import UTC, datetime

    from syncd.store import Store

    store = Store.open(state_url)
    store.ingest("p", "test", ["a"], [make_document("k1")], None)
    (claimed,) = store.claim("p", "w", 10, timedelta(minutes=5), lambda d: None)
    before = datetime.now(UTC) - timedelta(minutes=10)  # aware: converted to the store's UTC
    done(store, claimed, "feed-2")
    store.ingest("p", "test", ["a"], [Verdict("k1", "a", accepted=False, message="old",
                                              observed_at=before)], None)
    assert store.list_documents(state="error").items == []
    (stale,) = [e for e in store.events() if e["kind"] == "verdict-stale"]
    assert "before the upload finished" in stale["message"]
    store.ingest("p", "test", ["a"], [Verdict("k1", "a", accepted=False, message="rejected",
                                              observed_at=datetime.now(UTC))], None)
    (row,) = store.list_documents(state="error")
    assert row.error == "rejected"
    store.close()


def test_revised_documents_wait_with_their_diff_for_resend_or_keep(spine, document_sink):
    engine, config, store = spine(count=2)
    pipeline = config.settings.pipelines[0]
    engine.run_cycle(pipeline)
    changed = [d.model_copy(update={"currency": "USD"}) for d in _documents(engine, pipeline)]
    store.ingest("demo", "synthetic", pipeline.targets, changed, None)
    assert [r.state for r in store.list_documents(state="revised")] == ["revised", "revised"]
    shown = run_cli(config.path, "documents", "show", "1").output
    assert "changed since delivery" in shown and '+  "currency": "USD"' in shown
    assert run_cli(config.path, "documents", "keep", "1").exit_code == 0
    assert store.document_detail(1)["state"] == "done"
    document_sink.remove("synthetic:doc-000001")
    assert run_cli(config.path, "documents", "resend", "2", "--yes").exit_code == 0
    assert store.counts() == {"demo": {"done": 2}}
    assert len(document_sink.received()) == 3


def test_a_target_updating_in_place_gets_revisions_automatically(spine, monkeypatch):
    monkeypatch.setattr(NoopTarget, "updates_in_place", True)
    engine, config, store = spine(count=1, pipelines=[
        {"name": "demo", "source": "synthetic", "targets": ["noop"]}])
    pipeline = config.settings.pipelines[0]
    engine.run_cycle(pipeline)
    changed = [d.model_copy(update={"currency": "USD"}) for d in _documents(engine, pipeline)]
    store.ingest("demo", "synthetic", pipeline.targets, changed, None,
                 in_place=engine.in_place(pipeline))
    assert engine.deliver(pipeline)[0].delivered == 1
    detail = store.document_detail(1)
    assert detail["state"] == "done" and detail["deliveries"][0]["delivered_revision"] == 2


def test_a_revision_arriving_while_in_flight_ends_revised(syncd_store, make_document):
    syncd_store.ingest("p", "test", ["a"], [make_document("k1")], None)
    (c,) = syncd_store.claim("p", "w", 10, timedelta(minutes=5), lambda d: None)
    syncd_store.ingest("p", "test", ["a"], [make_document("k1", net="99.00")], None)
    done(syncd_store, c, "r1")
    assert syncd_store.document_detail(1)["deliveries"][0]["state"] == "revised"


def test_run_once_exits_non_zero_when_a_pull_fails(spine):
    engine, _config, store = spine(count=1, pull_error="connection refused")
    assert Daemon(engine).run_once() == 1
    assert [e["kind"] for e in store.events()] == ["pull-error"]


def test_sources_are_acknowledged_after_each_committed_batch(spine):
    engine, config, _store = spine(count=5, batch=2)
    pipeline = config.settings.pipelines[0]
    engine.pull(pipeline)
    assert engine.source(pipeline).acknowledged == [{"offset": 2}, {"offset": 4},
                                                    {"offset": 5}]


def test_a_target_added_later_gets_old_documents_only_through_reload(spine, document_sink):
    from datetime import date

    engine, config, store = spine(count=2, days=1)
    engine.run_cycle(config.settings.pipelines[0])
    later, config2, _ = spine(count=2, days=1, state_url=config.database_url, pipelines=[
        {"name": "demo", "source": "synthetic", "targets": ["sink", "steps-sink"]}])
    pipeline = config2.settings.pipelines[0]
    later.run_cycle(pipeline)
    assert store.counts() == {"demo": {"done": 2}}
    later.reload(pipeline, date(2026, 1, 1), date(2026, 1, 1), "op")
    assert store.counts() == {"demo": {"done": 4}}
    assert len(document_sink.received()) == 4  # the old target got nothing twice


def _documents(engine, pipeline):
    from syncd.testing.plugin import synthetic_document

    cfg = engine.source(pipeline).config
    return [synthetic_document(i, cfg) for i in range(cfg.count)]

