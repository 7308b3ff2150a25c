"""The emulator's operations: what Xentral does with each request syncd sends.

Business rules beyond the schema: document numbers are unique per kind ("has already been
taken"), referenced ids (address, project, products, sales order, invoice) must exist, a
product number is unique (409), documents created with a number are `released`, attached
files are logged in the document's activity, and v1 sets the payment status.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from syncd_xentral.sandbox.state import KINDS, EmulatorState, matches, now_iso, totals

VALIDATION = "https://api.xentral.biz/problems/request-validation"


class SandboxError(Exception):
    """An HTTP error answer: problem+json by default, or a plain JSON body."""

    def __init__(self, status: int, violations: dict[str, list[str]] | None, *,
                 title: str | None = None, detail: str | None = None,
                 plain: dict[str, Any] | None = None) -> None:
        super().__init__(title or str(violations))
        self.status, self.violations, self.title = status, violations, title
        self.detail, self.plain = detail, plain

    def body(self) -> dict[str, Any]:
        if self.plain is not None:
            return self.plain
        if self.violations is not None:
            return {"type": VALIDATION, "title": "Request payload validation failed.",
                    "violations": self.violations}
        out: dict[str, Any] = {"type": "about:blank", "title": self.title or "Error",
                               "status": self.status}
        if self.detail:
            out["detail"] = self.detail
        return out


@dataclass
class Route:
    operation: str
    template: str
    handler: Callable[..., tuple[int, Any]]
    match: dict[str, str]


class Routes:
    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        kinds = "|".join(KINDS)
        self.table: list[tuple[str, re.Pattern[str], str, str, Callable[..., Any]]] = [
            ("GET", re.compile(r"^/api/v3/products$"), "listProducts", "/api/v3/products",
             self.list_products),
            ("POST", re.compile(r"^/api/v3/products$"), "createProduct", "/api/v3/products",
             self.create_product),
            ("GET", re.compile(r"^/api/v3/customers$"), "listCustomers", "/api/v3/customers",
             self.list_customers),
            ("POST", re.compile(r"^/api/v3/customers$"), "createCustomer",
             "/api/v3/customers", self.create_customer),
            ("GET", re.compile(rf"^/api/v3/(?P<kind>{kinds})$"), "list", "/api/v3/{kind}",
             self.list_documents),
            ("POST", re.compile(rf"^/api/v3/(?P<kind>{kinds})$"), "create", "/api/v3/{kind}",
             self.create_document),
            ("GET", re.compile(rf"^/api/v3/(?P<kind>{kinds})/(?P<id>[^/]+)$"), "view",
             "/api/v3/{kind}/{id}", self.view_document),
            ("POST", re.compile(rf"^/api/v3/(?P<kind>{kinds})/(?P<id>[^/]+)/files$"),
             "attachFile", "/api/v3/{kind}/{id}/files", self.attach_file),
            ("PATCH", re.compile(r"^/api/v1/invoices/(?P<id>\d+)/status$"), "invoiceStatus",
             "/api/v1/invoices/{id}/status", self.invoice_status),
        ]

    def find(self, method: str, path: str) -> Route | None:
        for verb, pattern, operation, template, handler in self.table:
            match = pattern.match(path)
            if verb == method and match:
                groups = match.groupdict()
                kind = groups.get("kind")
                spec_template = template.replace("{kind}", kind) if kind else template
                name = f"{operation}:{kind}" if kind else operation
                return Route(name, spec_template, handler, groups)
        return None

    # lists -------------------------------------------------------------------------------
    def _page(self, rows: list[dict[str, Any]], filters: list[tuple[str, str, Any]],
              params: dict[str, str]) -> tuple[int, Any]:
        try:
            selected = [r for r in rows if all(matches(r, k, o, v) for k, o, v in filters)]
        except ValueError as exc:
            raise SandboxError(400, {"filter": [str(exc)]}) from None
        per_page = min(int(params.get("perPage") or 15), 1000)
        page = max(int(params.get("page") or 1), 1)
        chunk = selected[(page - 1) * per_page: page * per_page]
        more = len(selected) > page * per_page
        return 200, {"data": chunk,
                     "meta": {"currentPage": page, "perPage": per_page,
                              "from": (page - 1) * per_page + 1 if chunk else None,
                              "to": (page - 1) * per_page + len(chunk) if chunk else None},
                     "links": {"first": "?page=1", **({"next": f"?page={page + 1}"}
                                                      if more else {})}}

    def list_products(self, match: dict, body: Any, filters: list, params: dict
                      ) -> tuple[int, Any]:
        with self.state.lock:
            rows = list(self.state.products.values())
        status, body = self._page(rows, filters, params)
        if "externalReferences" not in (params.get("include") or "").split(","):
            body["data"] = [{k: v for k, v in r.items() if k != "externalReferences"}
                            for r in body["data"]]  # a sub-resource only on request
        return status, body

    def list_customers(self, match: dict, body: Any, filters: list, params: dict
                       ) -> tuple[int, Any]:
        with self.state.lock:
            rows = list(self.state.customers.values())
        return self._page(rows, filters, params)

    def list_documents(self, match: dict, body: Any, filters: list, params: dict
                       ) -> tuple[int, Any]:
        with self.state.lock:
            rows = [{k: v for k, v in d.items() if k != "activity"}
                    for d in self.state.documents[match["kind"]].values()]
        return self._page(rows, filters, params)

    def view_document(self, match: dict, body: Any, filters: list, params: dict
                      ) -> tuple[int, Any]:
        with self.state.lock:
            doc = self.state.documents[match["kind"]].get(match["id"])
            if doc is None:
                raise SandboxError(404, None, title="Not Found")
            includes = set((params.get("include") or "").split(","))
            out = {k: v for k, v in doc.items() if k != "activity" or "activity" in includes}
        return 200, {"data": out}

    # creates -----------------------------------------------------------------------------
    def create_product(self, match: dict, body: dict, filters: list, params: dict
                       ) -> tuple[int, Any]:
        with self.state.lock:
            number = body.get("number")
            if number and any(p["number"] == number for p in self.state.products.values()):
                raise SandboxError(409, None, title=f"The number {number} is already in use.")
            if body["project"]["id"] not in self.state.projects:
                raise SandboxError(400, {"project.id": ["The selected project.id is invalid."]})
            pid = self.state.add_product(number or f"P{len(self.state.products) + 1}",
                                         body["name"], project=body["project"]["id"])
            return 201, {"data": self.state.products[pid]}

    def create_customer(self, match: dict, body: dict, filters: list, params: dict
                        ) -> tuple[int, Any]:
        address = body["primaryAddress"]
        cid = self.state.add_customer(
            address["name"], address.get("email"), street=address.get("street"),
            zipCode=address.get("zipCode"), city=address.get("city"),
            country=address.get("country"))
        return 201, {"data": {"id": cid}}

    def _references(self, kind: str, body: dict) -> dict[str, list[str]]:
        state, bad = self.state, {}
        if body["address"]["id"] not in state.customers:
            bad["address.id"] = ["The selected address.id is invalid."]
        project = (body.get("project") or {}).get("id")
        if project is not None and project not in state.projects:
            bad["project.id"] = ["The selected project.id is invalid."]
        for i, item in enumerate(body.get("lineItems") or []):
            if "product" in item and item["product"]["id"] not in state.products:
                bad[f"lineItems.{i}.product.id"] = ["The selected product is invalid."]
        links = {"invoices": ("salesOrder", "salesOrders"),
                 "creditNotes": ("invoice", "invoices")}
        if kind in links:
            field, target = links[kind]
            ref = (body.get(field) or {}).get("id")
            if ref is not None and ref not in state.documents[target]:
                bad[f"{field}.id"] = [f"The selected {field}.id is invalid."]
        number = body.get("documentNumber")
        if number and state.by_number(kind, number) is not None:
            bad["documentNumber"] = ["The document number has already been taken."]
        return bad

    def create_document(self, match: dict, body: dict, filters: list, params: dict
                        ) -> tuple[int, Any]:
        kind = match["kind"]
        with self.state.lock:
            bad = self._references(kind, body)
            if bad:
                raise SandboxError(400, bad)
            did = self.state.next_id()
            currency = (body.get("financials") or {}).get("currency", "EUR")
            items = [i for i in body.get("lineItems") or [] if "product" in i]
            number = body.get("documentNumber")
            doc = {**{k: v for k, v in body.items() if k != "lineItems"}, "id": did,
                   "documentNumber": number, "lineItems": items,
                   "status": "released" if number or kind == "salesOrders" else "draft",
                   "totals": totals(items, currency), "createdAt": now_iso(),
                   "activity": [{"message": f"{KINDS[kind]} created via API",
                                 "causer": "api", "causedAt": now_iso()}]}
            if kind == "invoices":
                doc["paymentStatus"] = "pending"
            self.state.documents[kind][did] = doc
            return 201, {"data": {k: v for k, v in doc.items() if k != "activity"}}

    def attach_file(self, match: dict, body: dict, filters: list, params: dict
                    ) -> tuple[int, Any]:
        with self.state.lock:
            doc = self.state.documents[match["kind"]].get(match["id"])
            if doc is None:
                raise SandboxError(404, None, title="Not Found")
            fid = self.state.next_id()
            data = base64.b64decode(body["fileContent"])  # checked as base64 on arrival
            self.state.files.append({"id": fid, "kind": match["kind"], "document": match["id"],
                                     "keyword": body["keyword"], "fileName": body["fileName"],
                                     "size": len(data), "head": data[:5]})
            doc["activity"].append({"message": f"File {body['fileName']} attached "
                                               f"({body['keyword']})",
                                    "causer": "api", "causedAt": now_iso()})
            return 201, {"data": {"id": int(fid)}}

    def invoice_status(self, match: dict, body: dict, filters: list, params: dict
                       ) -> tuple[int, Any]:
        with self.state.lock:
            doc = self.state.documents["invoices"].get(match["id"])
            if doc is None:
                raise SandboxError(404, None, title="Not Found")
            if not body:
                raise SandboxError(400, {"_": ["At least one of the properties must be "
                                               "present."]})
            if "paymentStatus" in body:
                doc["paymentStatus"] = body["paymentStatus"]
            if "status" in body:
                doc["status"] = body["status"]
            return 204, None
