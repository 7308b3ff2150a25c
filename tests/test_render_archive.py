"""The rendered-file archive: a document is rendered once, and every target, every retry and
the dashboard get the same bytes."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from syncd.model import Document
from syncd.render import Renderer, RenderOptions
from syncd.render.archive import ArchivedRenderer
from syncd.store import Store


class Counting(Renderer):
    name = "counting"
    media_type = "application/pdf"

    def __init__(self, options: RenderOptions | None = None) -> None:
        super().__init__(options or RenderOptions())
        self.rendered: list[str] = []

    def render(self, document: Document) -> bytes:
        self.rendered.append(document.source_key)
        return f"%PDF {document.source_key} {document.number} {len(self.rendered)}".encode()

    def render_many(self, documents: Sequence[Document]) -> list[bytes]:
        return [self.render(d) for d in documents]


def test_each_document_is_rendered_once_and_served_from_the_store(state_url, make_document):
    store = Store.open(state_url)
    try:
        inner = Counting()
        archived = ArchivedRenderer(inner, store)
        a, b, c = (make_document(k).with_number(f"INV-{k}") for k in ("a", "b", "c"))
        first = archived.render_many([a, b])
        again = archived.render_many([b, c, a])
        assert inner.rendered == ["a", "b", "c"]  # b and a came from the archive
        assert again[0] == first[1] and again[2] == first[0]
        assert archived.render(c) == again[1] and inner.rendered == ["a", "b", "c"]
        # another worker's renderer with the same settings finds the same files
        other = ArchivedRenderer(Counting(), store)
        assert other.render_many([a, b, c]) == [first[0], first[1], again[1]]
        assert other.archived(a) == first[0]
        # a different number, or different settings, is a different file
        renumbered = a.with_number("INV-a2")
        archived.render(renumbered)
        english = ArchivedRenderer(Counting(RenderOptions(language="en")), store)
        english.render(a)
        assert inner.rendered == ["a", "b", "c", "a"] and english.inner.rendered == ["a"]
        assert english.archived(b) is None
    finally:
        store.close()


def test_a_document_gets_the_same_pdf_whatever_batch_it_is_rendered_in(syncd_store):
    from syncd.render.pdf import PdfRenderer
    from syncd.render.samples import sample_intra_eu, sample_invoice

    plain = PdfRenderer(RenderOptions(), workers=1)
    alone = plain.render(sample_invoice("de"))
    with_other = plain.render_many([sample_intra_eu(), sample_invoice("de")])[1]
    assert alone != with_other  # the batch's font subset differs: two copies of one invoice
    archived = ArchivedRenderer(PdfRenderer(RenderOptions(), workers=1), syncd_store)
    batch = archived.render_many([sample_intra_eu(), sample_invoice("de")])
    assert archived.render(sample_invoice("de")) == batch[1]
    assert archived.archived(sample_invoice("de")) == batch[1]


def test_targets_built_by_the_engine_render_through_the_archive(make_syncd_config,
                                                                 syncd_plugin):
    from syncd.engine import Engine

    config = make_syncd_config(plugin={"sink_url": "http://127.0.0.1:9"})
    store = Store.open(config.database_url)
    engine = Engine(config, store, extra_plugins=[syncd_plugin])
    try:
        pipeline = engine.pipelines()[0]
        renderer = engine.target(pipeline, pipeline.targets[0]).context.renderer
        if renderer is None:
            pytest.skip("no pdf renderer registered")
        assert isinstance(renderer, ArchivedRenderer) and renderer.archive is store
    finally:
        engine.close()
        store.close()


def test_a_key_archived_first_by_another_worker_keeps_that_workers_file(syncd_store):
    assert syncd_store.keep_rendered({"k": b"%PDF first"}, "application/pdf") == {
        "k": b"%PDF first"}
    kept = syncd_store.keep_rendered({"k": b"%PDF second", "n": b"%PDF new"},
                                     "application/pdf")
    assert kept == {"k": b"%PDF first", "n": b"%PDF new"}
    assert syncd_store.rendered(["k", "n"]) == kept
