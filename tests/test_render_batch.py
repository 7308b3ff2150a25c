"""BatchPdfs: a target's per-batch PDF cache over the real PDF renderer."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from pypdf import PdfReader

from syncd.model import Document
from syncd.render import RenderOptions
from syncd.render.batch import BatchPdfs
from syncd.render.pdf import PdfRenderer
from syncd.render.samples import reference_invoice
from syncd.render.view import DocumentView


def text(pdf: bytes) -> str:
    import io

    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


class CountingRenderer(PdfRenderer):
    """The real renderer, counting WeasyPrint layout runs and refusing one source key."""

    def __init__(self, bad: str | None = None) -> None:
        super().__init__(RenderOptions(), workers=1)
        self.bad = bad
        self.layouts = 0
        self.singles = 0

    def views(self, documents: Sequence[Document]) -> list[DocumentView]:
        for doc in documents:
            if doc.source_key == self.bad:
                raise ValueError(f"cannot render {doc.source_key}")
        return super().views(documents)

    def _lay_out(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.layouts += 1
        return super()._lay_out(*args, **kwargs)

    def render(self, document: Document) -> bytes:
        self.singles += 1
        return super().render(document)


def test_batch_renders_with_one_layout_and_keeps_order() -> None:
    docs = [reference_invoice(i) for i in range(1, 6)]
    renderer = CountingRenderer()
    cache = BatchPdfs(renderer)
    cache.prepare(docs)
    assert renderer.layouts == 1
    assert len(cache) == 5
    for doc in reversed(docs):  # asked in any order, each gets its own PDF
        pdf = cache.pdf(doc)
        assert pdf.startswith(b"%PDF-")
        assert doc.number in text(pdf)
        others = [d.number for d in docs if d is not doc]
        assert not any(n in text(pdf) for n in others)
    assert renderer.layouts == 1 and renderer.singles == 0
    assert len(cache) == 0  # handed out once, then forgotten


def test_one_failing_document_does_not_break_the_others() -> None:
    docs = [reference_invoice(i) for i in range(1, 9)]
    bad = docs[5]
    renderer = CountingRenderer(bad=bad.source_key)
    cache = BatchPdfs(renderer)
    cache.prepare(docs)
    for doc in docs:
        if doc is bad:
            with pytest.raises(ValueError, match=bad.source_key):
                cache.pdf(doc)
        else:
            assert doc.number in text(cache.pdf(doc))
    assert renderer.singles == 0  # the good ones all came from (smaller) batches
    assert renderer.layouts < len(docs) - 1  # halves, not one layout per document


def test_unknown_or_changed_document_is_rendered_alone() -> None:
    renderer = CountingRenderer()
    cache = BatchPdfs(renderer)
    cache.prepare([reference_invoice(1)])
    other = reference_invoice(2)
    assert other.number in text(cache.pdf(other))
    assert renderer.singles == 1
    changed = reference_invoice(1).model_copy(update={"number": "INV-CHANGED-1"})
    assert "INV-CHANGED-1" in text(cache.pdf(changed))
    assert renderer.singles == 2


def test_a_new_batch_forgets_the_old_one() -> None:
    renderer = CountingRenderer()
    cache = BatchPdfs(renderer)
    first = reference_invoice(1)
    cache.prepare([first])
    cache.prepare([reference_invoice(2)])
    cache.pdf(first)
    assert renderer.singles == 1
    cache.forget()
    assert len(cache) == 0
