"""A per-batch PDF cache for targets: render a claimed batch in one go from `prepare(jobs)`.

The engine calls `Target.prepare(jobs)` with every claimed batch before the first step. A
target that uploads PDFs syncd renders itself keeps one `BatchPdfs` and does::

    def prepare(self, jobs):
        self.pdfs.prepare([job.document for job in jobs])

    def run_step(self, step, job):
        pdf = self.pdfs.pdf(job.document)   # from the batch, or rendered alone

so a cycle's documents share one WeasyPrint layout (`Renderer.render_many`, ~2x faster per
core than one `render` each) while each step still gets exactly its own document's PDF.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence

from syncd.errors import ConfigError
from syncd.model import Document
from syncd.render import Renderer


def fingerprint(document: Document) -> str:
    """Identity of the document's whole content: a document changed after `prepare` (e.g.
    numbered or corrected in between) is rendered again instead of getting a stale PDF."""
    return hashlib.sha256(document.model_dump_json().encode()).hexdigest()


class BatchPdfs:
    """PDFs of the current batch, each handed out once; anything else is rendered alone.

    One failing document never costs the others their batch rendering: a failed batch is
    split in halves until the failing documents stand alone, and each of those raises its
    own error when its PDF is asked for (so its step fails, and only its step).
    """

    def __init__(self, renderer: Renderer | None) -> None:
        self.renderer = renderer
        self._ready: dict[str, bytes | Exception] = {}
        self._lock = threading.Lock()

    def prepare(self, documents: Sequence[Document]) -> int:
        """Render `documents` as one batch, forgetting whatever an earlier batch left; returns
        how many PDFs were made (none without a renderer)."""
        if self.renderer is None:
            self.forget()
            return 0
        unique: dict[str, Document] = {}
        for doc in documents:
            unique.setdefault(fingerprint(doc), doc)
        ready: dict[str, bytes | Exception] = {}
        self._render(list(unique.items()), ready)
        with self._lock:
            self._ready = ready
        return sum(not isinstance(pdf, Exception) for pdf in ready.values())

    def _render(self, items: list[tuple[str, Document]], ready: dict[str, bytes | Exception],
                ) -> None:
        if not items or self.renderer is None:
            return
        try:
            pdfs = self.renderer.render_many([doc for _, doc in items])
            if len(pdfs) != len(items):
                raise RuntimeError(f"renderer returned {len(pdfs)} files for {len(items)} "
                                   "documents")
        except Exception as exc:
            if len(items) == 1:
                ready[items[0][0]] = exc
                return
            middle = len(items) // 2
            self._render(items[:middle], ready)
            self._render(items[middle:], ready)
            return
        for (key, _), pdf in zip(items, pdfs, strict=True):
            ready[key] = bytes(pdf)

    def pdf(self, document: Document) -> bytes:
        """The PDF of `document`: from the batch (once), else rendered on its own now."""
        with self._lock:
            found = self._ready.pop(fingerprint(document), None)
        if isinstance(found, Exception):
            raise found
        if found is not None:
            return found
        if self.renderer is None:
            raise ConfigError(["no PDF renderer for this pipeline (the render plugin is not "
                               "installed or not enabled)"])
        return bytes(self.renderer.render(document))

    def forget(self) -> None:
        """Drop what is left of the batch (e.g. documents whose steps never ran)."""
        with self._lock:
            self._ready = {}

    def __len__(self) -> int:
        with self._lock:
            return len(self._ready)
