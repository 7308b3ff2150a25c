"""The Public API calls syncd makes, each turning a non-success answer into one clear error.

A 401 latches: once the key was refused, every later call raises the same ConfigError without
touching the network, because the auth server blocks keys that keep failing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx

from syncd.errors import ConfigError, TransientError
from syncd_lexoffice.errors import AUTH_PROBLEM, error_for
from syncd_lexoffice.transport import Requester

PAGE_SIZE = 250
SEARCH_WINDOW = 10_000
SALES_TYPES = "salesinvoice,salescreditnote"


class AmbiguousWrite(TransientError):
    """A POST answered 5xx or timed out: it may have been performed; look it up first."""


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    total_elements: int
    total_pages: int
    last: bool


def dumps(body: Mapping[str, Any]) -> bytes:
    """JSON with Decimals as exact numbers (two decimals stay two decimals)."""
    return json.dumps(body, default=_number, ensure_ascii=False,
                      separators=(",", ":")).encode()


def _number(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class LexofficeApi:
    def __init__(self, http: Requester) -> None:
        self.http = http
        self.refused = False

    def _call(self, method: str, path: str, what: str | None = None,
              ok: tuple[int, ...] = (200,), **kwargs: Any) -> httpx.Response:
        if self.refused:
            raise ConfigError([AUTH_PROBLEM])
        what = what or f"{method} {path.split('?')[0]}"
        try:
            response = self.http.request(method, path, **kwargs)
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            cls = AmbiguousWrite if method == "POST" else TransientError
            raise cls(f"lexoffice {what}: {type(exc).__name__}: {exc}",
                      code="timeout") from exc
        if response.status_code in ok:
            return response
        if response.status_code == 401:
            self.refused = True
        error = error_for(response, what)
        if method == "POST" and isinstance(error, TransientError) and error.code != "429":
            raise AmbiguousWrite(str(error) + "; it may have been performed, so it is looked "
                                 "up before any retry", code=error.code) from None
        raise error

    # reads -----------------------------------------------------------------------------------
    def profile(self) -> dict[str, Any]:
        return self._call("GET", "/v1/profile").json()

    def posting_categories(self) -> list[dict[str, Any]]:
        data = self._call("GET", "/v1/posting-categories").json()
        if not isinstance(data, list):
            raise TransientError("lexoffice GET /v1/posting-categories: expected a JSON array, "
                                 f"got {type(data).__name__}")
        return data

    def voucherlist(self, start: date, end: date, page: int = 0, *, number: str | None = None,
                    size: int = PAGE_SIZE) -> Page:
        params: dict[str, Any] = {
            "voucherType": SALES_TYPES, "voucherStatus": "any",
            "voucherDateFrom": start.isoformat(), "voucherDateTo": end.isoformat(),
            "page": page, "size": size, "sort": "voucherDate,ASC",
        }
        if number is not None:
            params["voucherNumber"] = html_escape(number)
        data = self._call("GET", "/v1/voucherlist", params=params).json()
        try:
            return Page(rows=list(data["content"]), total_elements=int(data["totalElements"]),
                        total_pages=int(data["totalPages"]), last=bool(data["last"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise TransientError(f"lexoffice GET /v1/voucherlist: unexpected page shape "
                                 f"({type(exc).__name__}: {exc})") from exc

    def voucher(self, voucher_id: str) -> dict[str, Any]:
        return self._call("GET", f"/v1/vouchers/{voucher_id}").json()

    def payments(self, voucher_id: str) -> dict[str, Any]:
        return self._call("GET", f"/v1/payments/{voucher_id}").json()

    def find_contacts(self, name: str) -> Iterator[dict[str, Any]]:
        page = 0
        while True:
            data = self._call("GET", "/v1/contacts", params={
                "name": html_escape(name), "customer": "true", "page": page,
                "size": 100}).json()
            yield from data.get("content", [])
            if data.get("last", True):
                return
            page += 1

    # writes ----------------------------------------------------------------------------------
    def create_voucher(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/v1/vouchers", ok=(200, 201), content=dumps(body),
                          headers={"Content-Type": "application/json"}).json()

    def create_contact(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/v1/contacts", ok=(200, 201), content=dumps(body),
                          headers={"Content-Type": "application/json"}).json()

    def attach_file(self, voucher_id: str, filename: str, media_type: str,
                    data: bytes) -> dict[str, Any]:
        response = self._call("POST", f"/v1/vouchers/{voucher_id}/files", ok=(200, 201, 202),
                              files={"file": (filename, data, media_type)})
        return response.json()


def html_escape(value: str) -> str:
    """Filter values need &, < and > HTML-encoded before URL encoding (the docs say so)."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
