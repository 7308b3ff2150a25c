"""The "pdf" and "einvoice" steps: which file, under which name, attached how, found how.

The PDF is the source's own attachment, or the one syncd renders (a whole batch at once in
`prerender`, called from the target's `prepare`, through `syncd.render.batch.BatchPdfs`).
The e-invoice XML is the source's own, else the renderer's EN 16931 XML when the pipeline's
`einvoice` mode asks for one (by default: domestic German B2B). File names are `<number>.pdf`
/ `<number>.xml`: unique per document, so the activity log tells whether one landed.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from syncd.errors import PermanentError
from syncd.jobs import Job, StepResult
from syncd.model import AttachmentRole, Document, DocumentKind, LinkKind
from syncd.render.batch import BatchPdfs
from syncd_xentral import mapping
from syncd_xentral.client import XentralApi

KEYWORDS = {"pdf": ("attachment", AttachmentRole.PDF), "einvoice": ("eInvoice",
                                                                   AttachmentRole.EINVOICE)}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def file_name(number: str, suffix: str) -> str:
    return f"{_UNSAFE.sub('_', number)}{suffix}"


def renderable(job: Job) -> Document:
    """The document as syncd renders it: a credit note names the invoice it corrects
    (§31 (5) UStDV), from the spine link or from what the "document" step found."""
    document = job.document
    if document.kind is not DocumentKind.CREDIT_NOTE or document.original_invoice_number:
        return document
    linked = job.links.get(LinkKind.INVOICE)
    found = job.steps.get("document")
    number = (linked.number if linked else None) or (
        found.detail.get("invoiceNumber") if found else None)
    if not number:
        return document
    day = (linked.issue_date if linked else None) or (
        date.fromisoformat(found.detail["invoiceDate"])
        if found and found.detail.get("invoiceDate") else None)
    return document.model_copy(update={"original_invoice_number": number,
                                       "original_invoice_date": day})


def wants_rendered_einvoice(renderer: Any, document: Document) -> bool:
    """Whether the pipeline's renderer makes an e-invoice for a document syncd renders itself
    (`einvoice` mode; renderers without e-invoice support make none). A document its source
    issued (its own PDF or XML) gets none made up: the e-invoice is the issuer's."""
    wants = getattr(renderer, "wants_einvoice", None)
    return bool(wants is not None and document.kind is not DocumentKind.ORDER
                and not any(a.role in (AttachmentRole.EINVOICE, AttachmentRole.PDF)
                            for a in document.attachments)
                and wants(document))


class Files:
    """Attaches a document's files; the batch's pre-rendered PDFs are held only until used."""

    def __init__(self, api: XentralApi, renderer: Any) -> None:
        self.api = api
        self.renderer = renderer
        self.pdfs = BatchPdfs(renderer)

    def prerender(self, jobs: Sequence[Job]) -> int:
        """Render the PDFs the batch's "pdf" steps will need, in one layout run."""
        render = [renderable(job) for job in jobs
                  if "pdf" not in job.steps and job.document.kind is not DocumentKind.ORDER
                  and job.attachment(AttachmentRole.PDF) is None]
        render = [d for d in render if d.kind is not DocumentKind.CREDIT_NOTE
                  or d.original_invoice_number]  # the rest once "document" found the invoice
        return self.pdfs.prepare(render)

    def file(self, job: Job, step: str) -> tuple[str, bytes, str]:
        keyword, role = KEYWORDS[step]
        number = mapping.document_number(job.document)
        stored = job.attachment(role)
        if stored is not None:
            suffix = ".xml" if step == "einvoice" else ".pdf"
            return keyword, stored.read(), file_name(number, suffix)
        if self.renderer is not None and step == "pdf":
            return keyword, self.pdfs.pdf(renderable(job)), file_name(number, ".pdf")
        if self.renderer is not None and wants_rendered_einvoice(self.renderer, job.document):
            xml = self.renderer.einvoice(renderable(job))
            if xml is not None:
                return keyword, xml.data, file_name(number, ".xml")
        raise PermanentError(f"{mapping.document_label(job.document)}: no {role.value} "
                             "attachment and no renderer to make one", code="no-file")

    def find(self, job: Job, step: str, path: str) -> StepResult | None:
        """The file if an earlier attempt attached it: its name in the activity log (the v3
        spec lists no files of a document)."""
        keyword, _ = KEYWORDS[step]
        suffix = ".xml" if step == "einvoice" else ".pdf"
        name = file_name(mapping.document_number(job.document), suffix)
        body = self.api.call("GET", path, params=[("include", "activity")]) or {}
        for entry in (body.get("data") or {}).get("activity") or []:
            if name in str(entry.get("message", "")):
                return StepResult(None, {"fileName": name, "keyword": keyword, "found": True})
        return None

    def attach(self, job: Job, step: str, path: str) -> StepResult:
        keyword, data, name = self.file(job, step)
        body = {"keyword": keyword, "fileName": name, "title": name,
                "fileContent": base64.b64encode(data).decode()}
        created = self.api.create(f"{path}/files", body)
        return StepResult(str(created["id"]), {"fileName": name, "keyword": keyword,
                                               "size": len(data)})
