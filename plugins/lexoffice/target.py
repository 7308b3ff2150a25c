"""The lexoffice target: voucher → file(s) → (opt-in) payment, each step its own commit.

Never twice: lexoffice has no idempotency key and does not enforce unique voucher numbers.
A 429 was not performed and is retried by the HTTP client; any 5xx or timeout on a POST
becomes `AmbiguousWrite`, and before the voucher is posted again it is looked up in the
voucherlist (number exactly, type, amount, date). `prepare` lists the batch's date ranges once
(one page per 250 documents), so a bulk run spends about two requests per voucher.
Re-running the file step is harmless: lexoffice deduplicates files by checksum.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from syncd.connectors import NumberSeries, RemoteRef, StepResult, Target
from syncd.errors import ConfigError, DeliveryError, PermanentError
from syncd.jobs import Job
from syncd.model import AttachmentRole, Document, DocumentKind, LinkKind
from syncd_lexoffice import lookup, paid
from syncd_lexoffice.categories import Categories, Category, choose, load_file
from syncd_lexoffice.client import AmbiguousWrite, LexofficeApi
from syncd_lexoffice.config import LexofficeConfig, LexofficeOptions
from syncd_lexoffice.files import VoucherFiles, check_size
from syncd_lexoffice.mapping import (
    check_deliverable,
    contact_body,
    contact_name,
    voucher_body,
    voucher_type,
)
from syncd_lexoffice.transport import build_client

VOUCHER, FILE, PAID = "voucher", "file", "paid"


class LexofficeTarget(Target):
    name = "lexoffice"
    config_model = LexofficeConfig
    options_model = LexofficeOptions
    config: LexofficeConfig

    def __init__(self, config: LexofficeConfig, context: Any) -> None:
        super().__init__(config, context)
        self.log = context.logger
        self._api: LexofficeApi | None = None
        self._categories: Categories | None = None
        self._profile: dict[str, Any] | None = None
        self._webapp: Any = None
        self._contacts: dict[str, str] = {}
        self._index = lookup.VoucherIndex()
        self.files = VoucherFiles(context.renderer)
        self._ambiguous: set[str] = set()
        self._landed: dict[str, list[str]] = {}
        """voucher id → files a lookup found on it, while some of the document's are missing"""
        self._lock = threading.Lock()
        self._contact_lock = threading.Lock()

    # set-up ----------------------------------------------------------------------------------
    @property
    def api(self) -> LexofficeApi:
        if self._api is None:
            http = build_client(
                getattr(self.context, "http", None), name="lexoffice",
                base_url=str(self.config.base_url).rstrip("/"),
                bearer=self.config.api_key.get_secret_value(),
                rate=self.config.requests_per_second, key=self.config.limiter_key,
                timeout=self.config.request_timeout)
            self._api = LexofficeApi(http)
        return self._api

    def _start(self) -> tuple[Categories, dict[str, Any]]:
        """Profile (small business, OSS principle) and the account's categories, once."""
        with self._lock:
            if self._categories is None or self._profile is None:
                self._profile = self.api.profile()
                self._categories = Categories(self._category_rows())
            return self._categories, self._profile

    def _category_rows(self) -> list[dict[str, Any]]:
        """The account's list; `categories_file` when lexoffice cannot give it (the ids in
        such a file may be stale, so the account's own list always wins)."""
        try:
            return self.api.posting_categories()
        except DeliveryError as exc:
            if self.config.categories_file is None:
                raise
            path = self.context.path(self.config.categories_file)
            rows = load_file(path)
            self.log.warning("posting categories from the fallback file", file=str(path),
                             error=str(exc))
            return rows

    def check(self) -> None:
        if self.config.categories_file is not None:
            load_file(self.context.path(self.config.categories_file))
        self._start()

    def steps(self, document: Document) -> Sequence[str]:
        if self.config.mark_paid and document.kind is DocumentKind.INVOICE:
            return (VOUCHER, FILE, PAID)
        return (VOUCHER, FILE)

    def number_series(self, document: Document) -> NumberSeries | None:
        if document.kind is DocumentKind.INVOICE:
            return NumberSeries("lexoffice-invoice", self.config.invoice_series)
        if document.kind is DocumentKind.CREDIT_NOTE:
            return NumberSeries("lexoffice-credit-note", self.config.credit_note_series)
        return None

    def validate(self, document: Document) -> None:
        check_deliverable(document)

    # lookups ---------------------------------------------------------------------------------
    def prepare(self, jobs: Sequence[Job]) -> None:
        rendered = self.files.prepare([self._document(j) for j in jobs if FILE not in j.steps
                                       and j.attachment(AttachmentRole.PDF) is None])
        if rendered:
            self.log.info("batch rendered", documents=rendered)
        pending = [j.document for j in jobs if VOUCHER not in j.steps and j.document.number]
        if not pending:
            return
        try:
            covered = lookup.prefetch(self.api, self._index, pending)
        except DeliveryError as exc:  # only an optimisation: the steps still look up in doubt
            self.log.warning("voucherlist prefetch failed", error=str(exc))
            return
        self.log.info("voucherlist prefetched", documents=len(pending), covered=covered)

    def find_existing(self, document: Document) -> RemoteRef | None:
        match = lookup.find_one(self.api, document)
        return None if match is None else RemoteRef(match.id, self._found(match))

    def find_step(self, step: str, job: Job) -> StepResult | None:
        if step == VOUCHER:
            match = lookup.find_one(self.api, job.document)
            if match is None:
                return None
            self._index.add(match)
            self._ambiguous.discard(job.document.identity)
            return StepResult(match.id, self._found(match))
        if step == PAID:
            return self._paid_already(self._voucher_id(job))
        if step == FILE:
            return self._attached_already(job)
        return None

    @staticmethod
    def _found(match: lookup.Match) -> dict[str, Any]:
        return {"number": match.number, "type": match.type, "gross": str(match.gross),
                "found": True}

    # steps -----------------------------------------------------------------------------------
    def run_step(self, step: str, job: Job) -> StepResult:
        if step == VOUCHER:
            return self._voucher(job)
        if step == FILE:
            return self._files(job)
        if step == PAID:
            return self._paid(job)
        raise PermanentError(f"lexoffice has no step {step!r}")

    @staticmethod
    def _document(job: Job) -> Document:
        """The job's document; a credit note names its linked invoice (§31 (5) UStDV)."""
        document = job.document
        original = job.links.get(LinkKind.INVOICE)
        if (document.kind is DocumentKind.CREDIT_NOTE and not document.original_invoice_number
                and original is not None and original.number):
            update: dict[str, Any] = {"original_invoice_number": original.number}
            if document.original_invoice_date is None and original.issue_date is not None:
                update["original_invoice_date"] = original.issue_date
            document = document.model_copy(update=update)
        return document

    def _voucher(self, job: Job) -> StepResult:
        document = self._document(job)
        options = self._options(job)
        known = self._known(document)
        if known is not None:
            self.log.info("voucher already in lexoffice", number=document.number, id=known.id)
            return StepResult(known.id, self._found(known))
        self.files.gather(job, document, einvoice=options.attach_einvoice)  # before creating
        category = self._category(document, options)
        contact_id = self._contact(document) if (
            category.contact_required or self.config.contact == "per-buyer") else None
        body = voucher_body(document, category, contact_id=contact_id,
                            remark_prefix=options.remark_prefix)
        try:
            created = self.api.create_voucher(body)
        except AmbiguousWrite:
            self._ambiguous.add(document.identity)
            raise
        voucher_id = str(created.get("id") or "")
        if not voucher_id:
            raise PermanentError(f"lexoffice POST /v1/vouchers for {document.number}: answer "
                                 "without an id; look the voucher up in lexoffice",
                                 code="no-id")
        self._index.add(lookup.Match(voucher_id, body["voucherNumber"], body["type"],
                                     document.totals.gross, body["voucherDate"]))
        self.log.info("voucher created", number=document.number, id=voucher_id,
                      type=body["type"], category=category.name)
        return StepResult(voucher_id, {"number": document.number, "type": body["type"],
                                       "gross": str(document.totals.gross),
                                       "category": category.name, "contactId": contact_id})

    def _known(self, document: Document) -> lookup.Match | None:
        """A voucher for this document already in lexoffice: from the prefetch, or live after
        an ambiguous POST in this process (the engine also asks `find_step` first)."""
        if document.identity in self._ambiguous:
            match = lookup.find_one(self.api, document)
            if match is None:
                return None
            self._ambiguous.discard(document.identity)
            return match
        if document.issue_date is not None and self._index.covers(document.issue_date):
            return self._index.find(document)
        return None

    def _category(self, document: Document, options: LexofficeOptions) -> Category:
        categories, profile = self._start()
        if options.category:
            return categories.get(options.category, document=document.identity)
        seller = document.seller or (self.context.company.seller if self.context.company
                                     else None)
        name = choose(document, seller_country=seller.address.country if seller else "DE",
                      small_business=bool(profile.get("smallBusiness")),
                      destination_principle=profile.get("distanceSalesPrinciple")
                      == "DESTINATION")
        return categories.get(name, document=document.identity)

    def _contact(self, document: Document) -> str:
        """Find the buyer's customer contact by exact name, or create it (always looked up
        first, so a retried creation does not duplicate it)."""
        body = contact_body(document)
        name = contact_name(body) or ""
        with self._contact_lock:  # two workers must not create the same buyer twice
            return self._contacts.get(name) or self._find_or_create(name, body)

    def _find_or_create(self, name: str, body: dict[str, Any]) -> str:
        vat_id = (body.get("company") or {}).get("vatRegistrationId")
        for contact in self.api.find_contacts(name):
            same_vat = (contact.get("company") or {}).get("vatRegistrationId") == vat_id
            if contact_name(contact) == name and (vat_id is None or same_vat):
                self._contacts[name] = str(contact["id"])
                return self._contacts[name]
        created = self.api.create_contact(body)
        self._contacts[name] = str(created["id"])
        return self._contacts[name]

    def _attached_already(self, job: Job) -> StepResult | None:
        """The voucher's files when all of this document's are there. Fewer (the PDF landed,
        the XML's upload failed) are remembered, so the file step sends only the rest: a
        re-rendered PDF may differ in its bytes, so checksum dedup alone could attach a
        second copy. Files go up in a fixed order and stop at the first failure, so the
        voucher's first n files are the first n of the list."""
        voucher_id = self._voucher_id(job)
        files = [str(f) for f in self.api.voucher(voucher_id).get("files") or []]
        if len(files) >= 2 or (files and len(files) >= len(self.files.gather(
                job, self._document(job), einvoice=self._options(job).attach_einvoice))):
            return StepResult(files[0], {"files": files, "found": True})  # PDF (+ XML) there
        with self._lock:
            self._landed[voucher_id] = files
        return None

    def _files(self, job: Job) -> StepResult:
        document, voucher_id = self._document(job), self._voucher_id(job)
        with self._lock:
            landed = self._landed.pop(voucher_id, None)
        if landed is None and job.steps[VOUCHER].detail.get("found"):
            attached = self._attached_already(job)  # an earlier run created it: files too?
            if attached is not None:
                return attached
            with self._lock:
                landed = self._landed.pop(voucher_id, None)
        landed = landed or []
        ids: dict[str, str] = {}
        wanted = self.files.gather(job, document, einvoice=self._options(job).attach_einvoice)
        for file, file_id in zip(wanted, landed, strict=False):
            ids[file.filename] = file_id
        for file in wanted[len(landed):]:
            data = file.read()
            check_size(document, file.filename, len(data))
            answer = self.api.attach_file(voucher_id, file.filename, file.media_type, data)
            ids[file.filename] = str(answer.get("id") or "")
        self.files.forget(document)
        self.log.info("files attached", number=document.number, voucher=voucher_id,
                      files=list(ids), already=len(landed))
        return StepResult(next(iter(ids.values()), None), {"files": ids})

    @staticmethod
    def _options(job: Job) -> LexofficeOptions:
        return job.options if isinstance(job.options, LexofficeOptions) else LexofficeOptions()

    def _voucher_id(self, job: Job) -> str:
        result = job.steps.get(VOUCHER)
        if result is None or not result.ref:
            raise PermanentError(f"document {job.document.identity}: step {VOUCHER!r} has no "
                                 "voucher id; it must run first")
        return result.ref

    # mark as paid (unofficial web-app route) -------------------------------------------------
    def _paid(self, job: Job) -> StepResult:
        """Records the open amount, not blindly the gross: a bank or PayPal match may have
        paid the voucher (in part) while this step waited, e.g. for a fixed login."""
        voucher_id, document = self._voucher_id(job), job.document
        balance = paid.balance(self.api.payments(voucher_id), voucher_id)
        if balance.settled:
            self.log.warning("voucher already paid in lexoffice; no payment recorded",
                             number=document.number, voucher=voucher_id)
            return StepResult(voucher_id, balance.detail)
        day = paid.paid_date(document)
        amount = min(document.totals.gross, balance.open)
        if amount != document.totals.gross:
            self.log.warning("voucher partly paid in lexoffice; recording the open amount",
                             number=document.number, voucher=voucher_id, open=str(amount))
        self.webapp.record_payment(voucher_id, amount, day)
        self.log.warning("voucher marked paid through the web app (unofficial)",
                         number=document.number, voucher=voucher_id, date=day.isoformat())
        return StepResult(voucher_id, {"amount": str(amount), "date": day.isoformat(),
                                       "method": self.config.payment_method})

    def _paid_already(self, voucher_id: str) -> StepResult | None:
        balance = paid.balance(self.api.payments(voucher_id), voucher_id)
        return StepResult(voucher_id, balance.detail) if balance.settled else None

    @property
    def webapp(self) -> Any:
        if self._webapp is None:
            from syncd_lexoffice.webapp import WebAppSession

            password = self.config.login_password
            if not (self.config.login_email and password):
                raise ConfigError(["lexoffice: mark_paid needs login_email and login_password"])
            self._webapp = WebAppSession(str(self.config.app_url), self.config.login_email,
                                         password.get_secret_value(),
                                         method=self.config.payment_method,
                                         timeout=self.config.request_timeout)
        return self._webapp

    def close(self) -> None:
        if self._api is not None:
            self._api.http.close()
        if self._webapp is not None:
            self._webapp.close()


paid_date = paid.paid_date
__all__ = ["LexofficeTarget", "paid_date", "voucher_type"]
