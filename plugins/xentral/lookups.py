"""Lookups a document needs before it can be created: products, sales orders, customers.

Cached for one batch (`prepare`) or one run; batch prefetches use the documented `in`
filters with perPage=1000, so a batch of invoices costs one request per kind, not one per
document. The cache holds ids only and is dropped with the target (no state of our own).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from syncd.errors import PermanentError
from syncd_xentral.client import XentralApi, filter_params

PAGE = 1000
DOCUMENT_PATHS = {"invoice": "/api/v3/invoices", "credit_note": "/api/v3/creditNotes",
                  "order": "/api/v3/salesOrders"}


def _chunks(values: list[str], size: int = 200) -> Iterable[list[str]]:
    for i in range(0, len(values), size):
        yield values[i:i + size]


class Lookups:
    """Product, sales-order and customer ids by their natural keys."""

    def __init__(self, api: XentralApi) -> None:
        self.api = api
        self.products: dict[str, str] = {}
        self.orders: dict[str, str | None] = {}
        self.customers: dict[str, str] = {}

    def _list(self, path: str, filters: list[tuple[str, str, str | list[str]]],
              include: str | None = None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        page = 1
        extra = [("include", include)] if include else []
        while True:
            params = [*filter_params(filters), *extra, ("perPage", str(PAGE)),
                      ("page", str(page))]
            body = self.api.call("GET", path, params=params) or {}
            data = body.get("data") or []
            out += data
            if len(data) < PAGE or not (body.get("links") or {}).get("next"):
                return out
            page += 1

    # products ----------------------------------------------------------------------------
    def prefetch_products(self, numbers: Iterable[str]) -> None:
        missing = [n for n in dict.fromkeys(numbers) if n not in self.products]
        for chunk in _chunks(missing):
            for row in self._list("/api/v3/products", [("number", "in", chunk)]):
                if row.get("number") in chunk:
                    self.products[row["number"]] = str(row["id"])
        unfound = [n for n in missing if n not in self.products]
        for chunk in _chunks(unfound):  # SKUs known to Xentral only as a channel's number
            rows = self._list("/api/v3/products", [("externalReferences.number", "in", chunk)],
                              include="externalReferences")
            for row in rows:
                for ref in row.get("externalReferences") or []:
                    if ref.get("number") in chunk and ref.get("isActive", True):  # as the seed
                        self.products.setdefault(ref["number"], str(row["id"]))

    def product(self, number: str, *, create: bool, project: str | None, name: str,
                where: str) -> str:
        if number not in self.products:
            self.prefetch_products([number])
        if number in self.products:
            return self.products[number]
        if not create:
            raise PermanentError(
                f"{where}: no Xentral product has the number or external number {number!r} "
                "(SKU); create it in Xentral or set create_missing_products = true, then reset",
                code="product-missing")
        if not project:
            raise PermanentError(f"{where}: cannot create product {number!r}: Xentral needs a "
                                 "project; set project_fba / project_fbm", code="no-project")
        body = {"name": name[:255] or number, "number": number, "project": {"id": project}}
        self.products[number] = str(self.api.create("/api/v3/products", body)["id"])
        return self.products[number]

    # sales orders ------------------------------------------------------------------------
    def prefetch_orders(self, order_ids: Iterable[str]) -> None:
        missing = [o for o in dict.fromkeys(order_ids) if o and o not in self.orders]
        for chunk in _chunks(missing):
            rows = self._list("/api/v3/salesOrders", [("externalOrderNumber", "in", chunk)])
            for row in rows:  # the seed's rule: the first order of that id not cancelled
                key = row.get("externalOrderNumber")
                if key in chunk and row.get("status") != "cancelled" and \
                        self.orders.get(key) is None:
                    self.orders[key] = str(row["id"])
            for key in chunk:
                self.orders.setdefault(key, None)

    def order(self, order_id: str, *, fresh: bool = False) -> str | None:
        if fresh or order_id not in self.orders:
            self.orders.pop(order_id, None)
            self.prefetch_orders([order_id])
        return self.orders.get(order_id)

    # customers ---------------------------------------------------------------------------
    def customer(self, key: str, filters: list[tuple[str, str, str | list[str]]],
                 create_body: dict[str, Any]) -> str:
        if key in self.customers:
            return self.customers[key]
        rows = self._list("/api/v3/customers", filters)
        if rows:
            self.customers[key] = str(rows[0]["id"])
        else:
            self.customers[key] = str(self.api.create("/api/v3/customers", create_body)["id"])
        return self.customers[key]

    # documents ---------------------------------------------------------------------------
    def document(self, kind: str, number: str) -> dict[str, Any] | None:
        """The invoice / credit note / sales order with this documentNumber, if any."""
        rows = self._list(DOCUMENT_PATHS[kind], [("documentNumber", "equals", number)])
        matches = [r for r in rows if r.get("documentNumber") == number]
        return matches[0] if matches else None

    def invoices_of_order(self, sales_order_id: str) -> list[dict[str, Any]]:
        """The invoices Xentral holds for a sales order (a credit note's fallback link)."""
        rows = self._list(DOCUMENT_PATHS["invoice"], [("salesOrder.id", "equals",
                                                       sales_order_id)])
        return [r for r in rows if (r.get("salesOrder") or {}).get("id") == sales_order_id]
