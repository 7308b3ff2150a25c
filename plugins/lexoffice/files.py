"""The files that go with a voucher: the PDF (stored, else rendered) and the e-invoice XML.

They are gathered and checked (renderable, at most 5 MB each) *before* the voucher is created,
so a document whose PDF cannot be made never leaves a voucher without its file behind.
Rendered PDFs come from the batch (`prepare` fills a `syncd.render.batch.BatchPdfs` in one
layout run) and are held from the voucher step to the file step only. The e-invoice XML is the
source's own, else the renderer's EN 16931 XML when the pipeline's `einvoice` mode asks for
one (by default: domestic German B2B); lexoffice takes XRechnung / ZUGFeRD XML voucher files.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from syncd.errors import ConfigError, PermanentError, SyncdError
from syncd.jobs import Job
from syncd.model import AttachmentRole, Document
from syncd.render.batch import BatchPdfs

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
    def __init__(self, renderer: Any | None) -> None:
        self.renderer = renderer
        self.pdfs = BatchPdfs(renderer)
        self.rendered: dict[str, bytes] = {}
        """PDFs gathered by a voucher step and not yet attached by its file step."""
        self.lock = threading.Lock()

    def prepare(self, documents: Sequence[Document]) -> int:
        """Render the batch's missing PDFs in one go; a document that fails gets its own
        error in its voucher step. PDFs held for documents outside this batch are dropped."""
        keys = {d.identity for d in documents}
        with self.lock:
            self.rendered = {k: v for k, v in self.rendered.items() if k in keys}
            held = set(self.rendered)
        return self.pdfs.prepare([d for d in documents if d.identity not in held])

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
        if einvoice:
            xml = self._einvoice(job, document, number)
            if xml is not None:
                files.append(xml)
        for file in files:
            check_size(document, file.filename, file.size)
        return files

    def _einvoice(self, job: Job, document: Document, number: str) -> VoucherFile | None:
        """The source's e-invoice XML, else the renderer's when the pipeline wants one for a
        document syncd renders itself."""
        stored = job.attachment(AttachmentRole.EINVOICE)
        if stored is not None:
            return VoucherFile(stored.filename or f"{number}.xml", "application/xml",
                               stored.size, stored.read)
        make = getattr(self.renderer, "einvoice", None)
        if make is None or job.attachment(AttachmentRole.PDF) is not None:
            # a document its source issued as a PDF gets no XML made up by syncd: the
            # e-invoice is the issuer's, and would be a second original with other content
            return None
        try:
            made = make(document)
        except ConfigError:
            raise
        except SyncdError as exc:
            raise PermanentError(f"document {document.identity}: no e-invoice XML for "
                                 f"lexoffice, so no voucher was created: {exc}",
                                 code="einvoice") from exc
        if made is None:
            return None
        data = made.data
        return VoucherFile(made.filename, made.media_type, len(data), lambda: data)

    def _render(self, document: Document) -> bytes:
        with self.lock:
            data = self.rendered.get(document.identity)
        if data is not None:
            return data
        if self.renderer is None:
            raise ConfigError(["lexoffice: the document has no PDF and the pipeline has no "
                               "renderer to make one"])
        try:
            data = self.pdfs.pdf(document)
        except ConfigError:
            raise
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
