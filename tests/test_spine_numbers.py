"""Spine v2 numbering: a number belongs to the document; none is spent on a refused one."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from syncd.store import Store

from .spine_support import spine, two_targets

__all__ = ["spine"]


def test_one_document_to_two_numbered_targets_gets_one_number(spine, document_sink):
    engine, config, store = spine(pipelines=two_targets(), count=3)
    summary = engine.run_cycle(config.settings.pipelines[0])
    assert summary.delivery.delivered == 6
    year = engine.today().year
    numbers = {e["identity"]: e["number"] for e in document_sink.received()}
    assert len(numbers) == 6  # both targets got every document ...
    for key in ("doc-000000", "doc-000001", "doc-000002"):  # ... with the same number
        assert numbers[f"synthetic:{key}"] == numbers[f"steps:synthetic:{key}"]
    assert sorted(set(numbers.values())) == [f"INV-{year}-{i:06d}" for i in range(1, 4)]
    assert {r.number for r in store.list_documents()} == set(numbers.values())


def test_two_pipelines_reading_one_source_share_the_number(spine, document_sink):
    engine, config, store = spine(pipelines=[
        {"name": "a", "source": "synthetic", "targets": ["sink"]},
        {"name": "b", "source": "synthetic", "targets": ["steps-sink"]}], count=2)
    for pipeline in config.settings.pipelines:
        engine.run_cycle(pipeline)
    assert store.counts() == {"a": {"done": 2}, "b": {"done": 2}}
    numbers = [e["number"] for e in document_sink.received()]
    assert len(numbers) == 4 and len(set(numbers)) == 2


def test_refused_document_spends_no_number_and_goes_to_error_alone(spine, document_sink):
    engine, config, store = spine(pipelines=two_targets(), count=3,
                                  refuse_keys=["doc-000001"])
    engine.run_cycle(config.settings.pipelines[0])
    (bad,) = store.list_documents(state="error")
    assert bad.source_key == "doc-000001" and bad.number is None
    assert "refuses doc-000001" in bad.error
    year = engine.today().year
    assert sorted({e["number"] for e in document_sink.received()}) == [
        f"INV-{year}-000001", f"INV-{year}-000002"]  # gapless over the issued ones


def test_documents_arriving_numbered_keep_their_number(syncd_store, make_document):
    syncd_store.ingest("p", "test", ["a", "b"], [make_document(
        "k1", number="AB-77", issue_date=date(2026, 2, 3))], None)
    claimed = syncd_store.claim("p", "w", 10, timedelta(minutes=5), lambda d: None)
    assert {c.document.number for c in claimed} == {"AB-77"}
    assert syncd_store.number_of("test", "k1") == "AB-77"


def test_issue_date_is_the_sellers_day(spine, document_sink, monkeypatch):
    from types import SimpleNamespace

    engine, config, store = spine(count=1)
    zone = ZoneInfo("Pacific/Kiritimati")  # UTC+14: its day differs from UTC's most hours
    engine.pull(config.settings.pipelines[0])
    monkeypatch.setattr(engine.config, "company", lambda: SimpleNamespace(timezone=zone.key))
    engine.deliver(config.settings.pipelines[0])
    (row,) = store.list_documents()
    assert row.issue_date == datetime.now(zone).date() == engine.today()
    assert datetime.now(UTC).date() != row.issue_date or datetime.now(UTC).hour < 10


def test_poison_body_goes_to_error_alone(state_url, make_document):

    from syncd.store.schema import documents

    store = Store.open(state_url)
    store.ingest("p", "test", ["a"], [make_document(f"k{i}") for i in range(3)], None)
    with store.tx() as conn:
        conn.execute(documents.update().where(documents.c.source_key == "k1")
                     .values(body='{"kind": "invoice"}'))
    claimed = store.claim("p", "w", 10, timedelta(minutes=5), lambda d: None)
    assert sorted(c.document.source_key for c in claimed) == ["k0", "k2"]
    (bad,) = store.list_documents(state="error")
    assert bad.source_key == "k1" and "no longer validates" in bad.error
    store.close()


def test_a_format_failing_only_when_formatting_poisons_nothing(syncd_store, make_document):
    from syncd.connectors import NumberSeries

    syncd_store.ingest("p", "test", ["a"], [make_document("k1")], None)
    bad = NumberSeries("inv", "INV-{seq:xd}", yearly_reset=False)
    assert syncd_store.claim("p", "w", 10, timedelta(minutes=5), lambda d: bad) == []
    (row,) = syncd_store.list_documents(state="error")
    assert "cannot format" in row.error and row.number is None
