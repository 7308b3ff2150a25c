"""syncd.testing: the document sink contract, as a thread and as a separate process."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx

from syncd.testing.sink import DocumentSink


def put(client, identity, body):
    return client.put(f"/documents/{identity}", content=json.dumps(body),
                      headers={"Idempotency-Key": identity})


def test_sink_records_rejects_duplicates_and_looks_up(document_sink):
    with httpx.Client(base_url=document_sink.url) as client:
        assert client.get("/documents/a:1").status_code == 404
        first = put(client, "a:1", {"source_key": "1", "number": "N1"})
        assert first.status_code == 201
        assert client.get("/documents/a:1").json()["id"] == first.json()["id"]
        assert put(client, "a:1", {"source_key": "1"}).status_code == 409
        assert put(client, "a:2", {"no": "document"}).status_code == 400
    received = document_sink.received()
    assert [e["duplicate"] for e in received] == [False, True]
    assert received[0]["idempotency_key"] == "a:1" and received[0]["number"] == "N1"


def test_sink_faults_429_with_retry_after_and_500_after_storing(document_sink):
    with httpx.Client(base_url=document_sink.url) as client:
        document_sink.set_faults(1.0, ["429"], retry_after=7)
        limited = put(client, "a:1", {"source_key": "1"})
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
        assert document_sink.stored() == {}
        document_sink.set_faults(1.0, ["500-after"])
        assert put(client, "a:1", {"source_key": "1"}).status_code == 500
        assert "a:1" in document_sink.stored()  # stored although the answer was an error
        client.post("/_faults", json={"rate": 0})
        assert client.get("/documents/a:1").status_code == 200


def test_sink_runs_as_a_process_and_journal_survives_restart(tmp_path):
    journal = tmp_path / "sink.jsonl"
    for expected in (201, 409):
        proc = subprocess.Popen([sys.executable, "-m", "syncd.testing.sink", "--journal",
                                 str(journal)], stdout=subprocess.PIPE, text=True)
        try:
            url = proc.stdout.readline().strip()
            with httpx.Client(base_url=url) as client:
                assert put(client, "a:1", {"source_key": "1"}).status_code == expected
        finally:
            proc.terminate()
            proc.wait(10)
    assert len(journal.read_text().splitlines()) == 2


def test_sink_as_context_manager_frees_its_port():
    with DocumentSink() as sink:
        url = sink.url
        assert httpx.get(url + "/_received").json() == []
    try:
        httpx.get(url + "/_received", timeout=1)
    except httpx.ConnectError:
        pass
    else:
        raise AssertionError("the sink still answers after stop()")


def test_store_and_document_fixtures_work_together(syncd_store, make_document):
    doc = make_document("k1", net="19.99", rate="0.07")
    assert str(doc.totals.gross) == "21.39"
    stats = syncd_store.ingest("p", "test", ["t"], [doc], {"page": 2})
    assert stats.new == 1 and syncd_store.cursor("p", "test") == {"page": 2}
