"""The files that go with a voucher: the PDF (stored, else rendered) and the e-invoice XML.

They are gathered and checked (renderable, at most 5 MB each) *before* the voucher is created,
so a document whose PDF cannot be made never leaves a voucher without its file behind.
Rendered PDFs are kept only for the batch (`prepare` renders them with `render_many`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from syncd.errors import ConfigError, PermanentError, SyncdError
from syncd.jobs import Job
from syncd.model import AttachmentRole, Document

MAX_FILE = 5 * 1024 * 1024


def safe_filename(number: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", number)


@dataclass(frozen=True)
class VoucherFile:
    filename: str
    media_type: str
    size: int
    read: Callable[[], bytes]


class VoucherFiles:
    def __init__(self, renderer: object | None) -> None:
        self.renderer = renderer
        self.rendered: dict[str, bytes] = {}
        self.lock = threading.Lock()

    def prepare(self, documents: Sequence[Document]) -> None:
        """Render the batch's missing PDFs in one go; a failure leaves each to `gather`."""
        todo = [d for d in documents if d.identity not in self.rendered]
        render_many = getattr(self.renderer, "render_many", None)
        if not todo or render_many is None:
            return
        try:
            pdfs = render_many(todo)
        except Exception:  # one bad document spoils the batch: each is rendered on its own
            return  # in the voucher step, whose error then names the culprit
        with self.lock:
            self.rendered.update({d.identity: pdf for d, pdf in zip(todo, pdfs, strict=True)})

    def gather(self, job: Job, document: Document, *, einvoice: bool) -> list[VoucherFile]:
        """The files for `document`, every one within lexoffice's 5 MB; raises otherwise."""
        number = safe_filename(document.number or document.source_key)
        pdf = job.attachment(AttachmentRole.PDF)
        if pdf is not None:
            files = [VoucherFile(pdf.filename or f"{number}.pdf", pdf.media_type, pdf.size,
                                 pdf.read)]
        else:
            data = self._render(document)
            files = [VoucherFile(f"{number}.pdf", "application/pdf", len(data), lambda: data)]
        xml = job.attachment(AttachmentRole.EINVOICE)
        if xml is not None and einvoice:
            files.append(VoucherFile(xml.filename or f"{number}.xml", "application/xml",
                                     xml.size, xml.read))
        for file in files:
            check_size(document, file.filename, file.size)
        return files

    def _render(self, document: Document) -> bytes:
        with self.lock:
            data = self.rendered.get(document.identity)
        if data is not None:
            return data
        if self.renderer is None:
            raise ConfigError(["lexoffice: the document has no PDF and the pipeline has no "
                               "renderer to make one"])
        try:
            data = self.renderer.render(document)  # type: ignore[attr-defined]
        except SyncdError as exc:
            raise PermanentError(f"document {document.identity}: no PDF for lexoffice, so no "
                                 f"voucher was created: {exc}", code="render") from exc
        with self.lock:
            self.rendered[document.identity] = data
        return data

    def forget(self, document: Document) -> None:
        with self.lock:
            self.rendered.pop(document.identity, None)


def check_size(document: Document, filename: str, size: int) -> None:
    if size > MAX_FILE:
        raise PermanentError(f"document {document.identity}: {filename} is "
                             f"{size / 1048576:.1f} MB; lexoffice accepts files up to 5 MB per "
                             "voucher file", code="file-size")
