"""Spine v2 attachments by reference: inline bytes move to the content-addressed store at
ingest, url attachments are fetched once as their own retried step before any target."""

from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa

from syncd.model import Attachment
from syncd.store.schema import blobs, documents
from syncd.testing.plugin import pdf_bytes

from .spine_support import spine

__all__ = ["spine"]
TWO = [{"name": "demo", "source": "synthetic", "targets": ["sink", "steps-sink"]}]


def test_inline_data_is_stored_once_by_sha256(syncd_store, make_document):
    data = b"%PDF-1.4 same bytes"
    docs = [make_document(k, attachments=(Attachment(filename=f"{k}.pdf",
                                                     media_type="application/pdf",
                                                     data=data),)) for k in ("a", "b")]
    syncd_store.ingest("p", "test", ["t"], docs, None)
    digest = hashlib.sha256(data).hexdigest()
    with syncd_store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(blobs)).scalar() == 1
        body = json.loads(conn.execute(sa.select(documents.c.body).limit(1)).scalar())
    (stored,) = body["attachments"]
    assert stored["data"] is None and stored["sha256"] == digest and stored["size"] == len(data)
    again = syncd_store.ingest("p", "test", ["t"], docs, None)
    assert again.unchanged == 2  # the content hash covers the reference, not the bytes


def test_targets_read_inline_attachments_through_the_job(spine, document_sink):
    engine, config, _store = spine(pipelines=TWO, count=2, attach="inline")
    engine.run_cycle(config.settings.pipelines[0])
    files = document_sink.files("steps:synthetic:doc-000001")
    assert [(f["name"], f["size"]) for f in files] == [
        ("doc-000001.pdf", len(pdf_bytes("doc-000001")))]


def test_url_attachments_are_fetched_once_before_any_target(spine, document_sink):
    engine, config, store = spine(pipelines=TWO, count=2, attach="url")
    pipeline = config.settings.pipelines[0]
    engine.run_cycle(pipeline)
    assert store.counts() == {"demo": {"done": 4}}
    assert sorted(engine.source(pipeline).fetched) == ["doc-000000", "doc-000001"]
    assert [f["name"] for f in document_sink.files("steps:synthetic:doc-000000")] == [
        "doc-000000.pdf"]


def test_failed_fetch_leaves_the_document_in_error_and_reset_retries(spine, document_sink):
    engine, config, store = spine(pipelines=TWO, count=2, attach="url",
                                  fetch_fail_keys=["doc-000001"])
    pipeline = config.settings.pipelines[0]
    engine.run_cycle(pipeline)
    (bad,) = store.list_documents(state="error")
    assert bad.source_key == "doc-000001"
    assert {d.state for d in bad.deliveries} == {"error"}
    assert all("no PDF for doc-000001" in d.error_message for d in bad.deliveries)
    assert all(d.step == "fetch" for d in bad.deliveries)
    assert [e["identity"] for e in document_sink.received()
            if "doc-000001" in e["identity"]] == []  # no target saw it
    source = engine.source(pipeline)
    source.config = source.config.model_copy(update={"fetch_fail_keys": []})
    store.reset([bad.id], "op")
    engine.run_cycle(pipeline)
    assert store.counts() == {"demo": {"done": 4}}
