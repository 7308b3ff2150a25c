"""The `xentral` target: one Job becomes a Xentral document in steps.

Steps: "document" (create the invoice / credit note / sales order with the source's number as
`documentNumber`), "pdf" (attach the PDF through the files endpoint, keyword `attachment`),
"einvoice" (the XML, keyword `eInvoice`: the source's, else the renderer's EN 16931 XML when the
pipeline's `einvoice` mode wants one, by default for domestic B2B) and "paid" (FBA invoices
when `mark_fba_paid`, v1 `PATCH /api/v1/invoices/{id}/status`). The engine commits each step,
so a crash after "document" repeats only the attachment; before repeating a step that may have
landed it asks `find_step`, which looks the document up by number (a duplicate-number answer
is resolved the same way, never by a second document) and the attachment up in the
document's activity log.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

from syncd.connectors import Catalog, NumberSeries, Target
from syncd.errors import ConfigError, PermanentError, TransientError
from syncd.jobs import Job, RemoteRef, StepResult
from syncd.model import AttachmentRole, Document, DocumentKind, Fulfilment, LinkKind
from syncd_xentral import mapping
from syncd_xentral.client import XentralApi, XentralProblem, build_http
from syncd_xentral.config import XentralConfig
from syncd_xentral.files import KEYWORDS, Files, wants_rendered_einvoice
from syncd_xentral.lookups import DOCUMENT_PATHS, Lookups


class XentralTarget(Target):
    name = "xentral"
    config_model = XentralConfig
    config: XentralConfig


    def __init__(self, config: XentralConfig, context: Any) -> None:
        super().__init__(config, context)
        self.api = XentralApi(build_http(
            str(config.base_url).rstrip("/"), config.token.get_secret_value(),
            per_minute=config.requests_per_minute,
            timeout=config.request_timeout.total_seconds(), http=context.http),
            per_minute=config.requests_per_minute, token_expires=config.token_expires,
            today=context.today)
        self.lookups = Lookups(self.api)
        self.products = mapping.Products(config.shipping_product, config.discount_product,
                                         config.giftwrap_product)
        self.files = Files(self.api, context.renderer)

    def close(self) -> None:
        self.api.close()

    def discover(self) -> Catalog:
        return Catalog(kinds=frozenset(DocumentKind), notes="Xentral v3 Business Documents")

    # health ------------------------------------------------------------------------------
    def check(self) -> None:
        """A token that has passed `token_expires` (or that Xentral refuses) stops here."""
        expires = self.config.token_expires
        if expires is not None and expires < self.context.today():
            raise ConfigError([f"token: the Xentral token expired on {expires.isoformat()} "
                               "(tokens expire after at most 180 days); create a new one and "
                               "set [plugins.xentral] token and token_expires"],
                              source="[plugins.xentral]")
        self.api.call("GET", "/api/v3/products", params=[("perPage", "1")])

    def status_warnings(self) -> list[str]:
        expires = self.config.token_expires
        if expires is not None and expires - self.context.today() <= timedelta(days=14):
            return [f"xentral: the API token expires on {expires.isoformat()}; rotate it "
                    "before then (Xentral tokens last at most 180 days)"]
        return []

    # contract ----------------------------------------------------------------------------
    def number_series(self, document: Document) -> NumberSeries | None:
        """For unnumbered documents (Amazon's): the *source's* series, `amazon-invoice`, the
        one the amazon target numbers from too, so a document numbered in one pipeline and
        one numbered in another never share a number."""
        if document.kind is DocumentKind.INVOICE:
            return NumberSeries(f"{document.source}-invoice", self.config.invoice_series)
        if document.kind is DocumentKind.CREDIT_NOTE:
            return NumberSeries(f"{document.source}-credit-note",
                                self.config.credit_note_series)
        return None

    def validate(self, document: Document) -> None:
        mapping.needed_products(document, self.products)  # every line maps onto a product
        if document.kind is DocumentKind.ORDER and not document.references.order_id:
            raise PermanentError(f"{mapping.document_label(document)}: an order needs the "
                                 "Amazon order id (references.order_id)", code="no-order-id")

    def steps(self, document: Document) -> Sequence[str]:
        if document.kind is DocumentKind.ORDER:
            return ("document",)
        out = ["document", "pdf"]
        if (any(a.role is AttachmentRole.EINVOICE for a in document.attachments)
                or wants_rendered_einvoice(self.context.renderer, document)):
            out.append("einvoice")
        if (document.kind is DocumentKind.INVOICE and self.config.mark_fba_paid
                and document.fulfilment is Fulfilment.FBA):
            out.append("paid")
        return tuple(out)

    def prepare(self, jobs: Sequence[Job]) -> None:
        """One product and one order request per batch; the batch's PDFs rendered at once.

        The lookups start afresh with every batch: an order imported into Xentral since the
        last batch (or a product created there) is seen by the next one, e.g. after a reset.
        """
        self.lookups = Lookups(self.api)
        numbers: list[str] = []
        for job in jobs:
            if "document" not in job.steps:
                try:
                    numbers += mapping.needed_products(job.document, self.products)
                except PermanentError:
                    continue  # that job's own step says what is wrong with it
        self.lookups.prefetch_products(numbers)
        self.lookups.prefetch_orders(
            job.document.references.order_id for job in jobs
            if "document" not in job.steps and job.document.references.order_id
            and job.document.kind is not DocumentKind.CREDIT_NOTE
            and LinkKind.ORDER not in job.links)
        rendered = self.files.prerender(jobs)
        if rendered and self.context.logger is not None:
            self.context.logger.info("batch rendered", documents=rendered)

    def find_existing(self, document: Document) -> RemoteRef | None:
        found = self._lookup(document)
        return None if found is None else RemoteRef(found.ref or "", dict(found.detail))

    def find_step(self, step: str, job: Job) -> StepResult | None:
        if step == "document":
            found = self._lookup(job.document)
            if found is not None and job.document.kind is DocumentKind.CREDIT_NOTE:
                found = self._with_invoice(job, found)
            return found
        if step in KEYWORDS:
            return self.files.find(job, step, self._path(job))
        return None  # "paid" is a PATCH to a fixed state: safe to repeat

    def run_step(self, step: str, job: Job) -> StepResult:
        if step == "document":
            return self._create(job)
        if step in KEYWORDS:
            return self.files.attach(job, step, self._path(job))
        if step == "paid":
            return self._paid(job)
        raise PermanentError(f"xentral has no step {step!r}", code="unknown-step")

    # document ----------------------------------------------------------------------------
    def _kind(self, document: Document) -> str:
        return document.kind.value

    def _lookup(self, document: Document) -> StepResult | None:
        if document.kind is DocumentKind.ORDER:
            order = self.lookups.order(document.references.order_id or "", fresh=True)
            return None if order is None else StepResult(order, {"kind": "order"})
        if not document.number:
            return None
        row = self.lookups.document(self._kind(document), document.number)
        if row is None:
            return None
        self._check_totals(document, row)
        return StepResult(str(row["id"]), {"kind": self._kind(document),
                                           "documentNumber": document.number})

    def _check_totals(self, document: Document, row: dict[str, Any]) -> None:
        gross = ((row.get("totals") or {}).get("gross") or {}).get("amount")
        if gross is None:
            return
        if Decimal(str(gross)).quantize(mapping.CENT) != document.totals.gross:
            raise PermanentError(
                f"{mapping.document_label(document)}: Xentral {self._kind(document)} "
                f"{row.get('id')} totals {gross} gross, the document {document.totals.gross}; "
                "correct it in Xentral, then mark the delivery manual", code="total-mismatch")

    def _common(self, job: Job, project: str | None) -> dict[str, Any]:
        document = job.document
        where = mapping.document_label(document)
        ids = {}
        for line in document.lines:
            number = mapping.product_number(line, self.products, where)
            ids[number] = self.lookups.product(
                number, create=self.config.create_missing_products,
                project=project or self.config.project_fbm or self.config.project_fba,
                name=line.description, where=where)
        return {"customer_id": self._customer(document), "product_ids": ids,
                "products": self.products, "seller_country": self._seller_country(document),
                "project": project}

    def _seller_country(self, document: Document) -> str:
        if document.seller is not None:
            return document.seller.address.country
        company = self.context.company
        return company.seller.address.country if company is not None else "DE"

    def _customer(self, document: Document) -> str:
        if self.config.customer == "collective":
            return str(self.config.collective_customer_id)
        address = document.billing_address or document.shipping_address
        primary = mapping.postal_address(address, document)
        if document.buyer.email:
            key, filters = f"email:{document.buyer.email}", [("email", "equals",
                                                               document.buyer.email)]
        else:
            zip_code = primary.get("zipCode", "")
            key = f"name:{primary['name']}|{zip_code}"
            filters = [("name", "equals", primary["name"])]
            if zip_code:
                filters.append(("zipCode", "equals", zip_code))
        missing = [k for k in ("street", "zipCode", "city", "country") if not primary.get(k)]
        if missing:  # Xentral needs a full primary address to create a customer
            if self.config.collective_customer_id:
                return self.config.collective_customer_id
            raise PermanentError(
                f"{mapping.document_label(document)}: the buyer's address lacks "
                f"{', '.join(missing)}, so no Xentral customer can be created; set "
                "collective_customer_id for such buyers", code="customer-address")
        body = {"primaryAddress": {k: primary[k] for k in
                                   ("name", "street", "zipCode", "city", "country")}}
        if document.buyer.email:
            body["primaryAddress"]["email"] = document.buyer.email
        return self.lookups.customer(key, filters, body)

    def _sales_order(self, job: Job, common: dict[str, Any]) -> str | None:
        document = job.document
        linked = job.links.get(LinkKind.ORDER)
        if linked is not None and linked.remote is not None:
            return linked.remote.ref
        order_id = document.references.order_id
        if not order_id:
            return None
        found = self.lookups.order(order_id)
        if found is not None:
            return found
        if not self.config.create_orders:
            raise PermanentError(
                f"{mapping.document_label(document)}: Amazon order {order_id} has no sales "
                "order in Xentral (externalOrderNumber) and expert mode is off; import the "
                "order into Xentral or set create_orders = true, then reset",
                code="order-missing")
        found = self.lookups.order(order_id, fresh=True)  # a crashed attempt may have made it
        return found or self._create_order(document, order_id, common)

    def _create_order(self, document: Document, order_id: str, common: dict[str, Any]) -> str:
        body = mapping.sales_order_body(document, order_id, **common)
        self.lookups.orders[order_id] = str(self.api.create("/api/v3/salesOrders", body)["id"])
        return self.lookups.orders[order_id]

    def _create(self, job: Job) -> StepResult:
        document = job.document
        project = mapping.project_id(document, self.config.project_fba,
                                     self.config.project_fbm)
        if document.kind is DocumentKind.ORDER:
            order_id = document.references.order_id or ""
            order = self.lookups.order(order_id, fresh=True)
            if order is None and not self.config.create_orders:
                raise PermanentError(
                    f"{mapping.document_label(document)}: no sales order with "
                    f"externalOrderNumber {order_id} in Xentral and expert mode "
                    "(create_orders) is off", code="order-missing")
            if order is None:
                order = self._create_order(document, order_id, self._common(job, project))
            return StepResult(order, {"kind": "order"})
        common = self._common(job, project)
        if document.kind is DocumentKind.INVOICE:
            body = mapping.invoice_body(document, sales_order_id=self._sales_order(job, common),
                                        **common)
        else:
            invoice = self._credit_invoice(job)
            body = mapping.credit_note_body(document, invoice_id=invoice.get("id"), **common)
        expected = mapping.expected_gross(body)
        if expected != document.totals.gross:
            raise PermanentError(
                f"{mapping.document_label(document)}: its lines would total {expected} gross "
                f"in Xentral, the document states {document.totals.gross}; nothing was sent",
                code="total-mismatch")
        path = DOCUMENT_PATHS[self._kind(document)]
        document_number = mapping.document_number(document)
        try:
            row = self.api.create(path, body)
        except XentralProblem as exc:
            if "documentNumber" not in exc.violations and exc.status != 409:
                raise
            found = self._lookup(document)  # taken: by an earlier attempt of ours, or not
            if found is None:
                raise
            return found
        self._check_totals(document, row)
        detail = {"kind": self._kind(document), "documentNumber": document_number}
        if document.kind is DocumentKind.CREDIT_NOTE:
            detail.update(invoice)
        return StepResult(str(row["id"]), detail)

    def _with_invoice(self, job: Job, found: StepResult) -> StepResult:
        """A credit note found after a lost answer still names its invoice (number, date),
        as the create would have: its PDF must name the invoice it corrects."""
        try:
            invoice = self._credit_invoice(job)
        except (PermanentError, TransientError):
            return found  # found all the same; only a link-less PDF cannot name it
        extra = {k: v for k, v in invoice.items() if k != "id"}
        return StepResult(found.ref, {**found.detail, **extra})

    def _credit_invoice(self, job: Job) -> dict[str, str]:
        """The invoice a credit note corrects, as Xentral holds it: id, number and date.

        From the spine link (the engine delivered the invoice first), else the number the
        source names (not in Xentral: created without the reference-only link, the document
        still names it), else the one invoice of the same Amazon order in Xentral.
        """
        document = job.document
        linked = job.links.get(LinkKind.INVOICE)
        if linked is not None and linked.remote is not None:
            out = {"id": linked.remote.ref}
            if linked.number:
                out["invoiceNumber"] = linked.number
            if linked.issue_date:
                out["invoiceDate"] = linked.issue_date.isoformat()
            return out
        rows: list[dict[str, Any]] = []
        if document.original_invoice_number:
            row = self.lookups.document("invoice", document.original_invoice_number)
            if row is None:  # issued before syncd or elsewhere: the link is reference-only
                return {"invoiceNumber": document.original_invoice_number}
            rows = [row]
        elif document.references.order_id:
            order = self.lookups.order(document.references.order_id)
            rows = self.lookups.invoices_of_order(order) if order else []
        if len(rows) == 1:
            return {"id": str(rows[0]["id"]), "invoiceNumber": rows[0].get("documentNumber")
                    or "", "invoiceDate": rows[0].get("documentDate") or ""}
        if document.references.order_id:
            if not rows:
                raise TransientError(
                    f"{mapping.document_label(document)}: the invoice of Amazon order "
                    f"{document.references.order_id} is not in Xentral yet (the credit note "
                    "names none); retried after it is delivered", code="invoice-missing")
            raise PermanentError(f"{mapping.document_label(document)}: Amazon order "
                                 f"{document.references.order_id} has {len(rows)} invoices in "
                                 "Xentral; the source must name the one corrected",
                                 code="invoice-ambiguous")
        return {}

    # files and payment -------------------------------------------------------------------
    def _remote_id(self, job: Job) -> str:
        result = job.steps.get("document")
        if result is None or not result.ref:
            raise PermanentError(f"{mapping.document_label(job.document)}: the document step "
                                 "has no Xentral id", code="no-remote-id")
        return result.ref

    def _path(self, job: Job) -> str:
        return f"{DOCUMENT_PATHS[self._kind(job.document)]}/{self._remote_id(job)}"

    def _paid(self, job: Job) -> StepResult:
        invoice = self._remote_id(job)
        self.api.call("PATCH", f"/api/v1/invoices/{invoice}/status",
                      body={"paymentStatus": "paid"})
        return StepResult(None, {"paymentStatus": "paid", "on": self.context.today().isoformat()})
