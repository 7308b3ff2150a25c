"""The lexoffice emulator: Public API and the web-app payment route on 127.0.0.1.

Behaves like lexoffice where syncd depends on it: one token bucket for all endpoints (429
with a gateway body, the call not performed), 401 for a wrong or revoked key, voucher bodies
validated against the shared JSON Schema plus the rules around it (406 IssueList naming the
field), voucherlist paging with its 10,000 window, files deduplicated by checksum and limited
to 5 MB, and injected faults that can strike *after* the work is done (a 504 whose voucher
exists), so clients must look up before they retry.
"""

from __future__ import annotations

import json
import re
import secrets
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import click

from syncd.testing.emulator import Emulator, EmulatorHandler, find_route
from syncd.testing.emulator import specs_dir as find_specs
from syncd_lexoffice.sandbox.cli import command as cli_command
from syncd_lexoffice.sandbox.state import EmulatorState, berlin_stamp
from syncd_lexoffice.sandbox.validation import VoucherValidator, issue

MAX_FILE = 5 * 1024 * 1024
FILE_TYPES = {"application/pdf", "image/jpeg", "image/png", "application/xml", "text/xml"}
GATEWAY = {429: "Rate limit exceeded", 500: "Internal server error or rate limit exceeded",
           503: "Service Unavailable", 504: "Endpoint request timed out"}

ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("GET", re.compile(r"^/v1/profile$"), "profile"),
    ("GET", re.compile(r"^/v1/posting-categories$"), "categories"),
    ("POST", re.compile(r"^/v1/vouchers$"), "create_voucher"),
    ("GET", re.compile(r"^/v1/vouchers/(?P<id>[^/]+)$"), "get_voucher"),
    ("POST", re.compile(r"^/v1/vouchers/(?P<id>[^/]+)/files$"), "attach"),
    ("GET", re.compile(r"^/v1/voucherlist$"), "voucherlist"),
    ("GET", re.compile(r"^/v1/payments/(?P<id>[^/]+)$"), "payments"),
    ("GET", re.compile(r"^/v1/contacts$"), "list_contacts"),
    ("POST", re.compile(r"^/v1/contacts$"), "create_contact"),
    ("POST", re.compile(r"^/grld-public/login/authorize$"), "login"),
    ("PUT", re.compile(r"^/grld-rest/personalsalesinvoiceservice/1/v100/payment/(?P<id>[^/]+)$"),
     "pay"),
]


class Reply(Exception):
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def legacy(status: int, *issues: dict[str, Any]) -> Reply:
    return Reply(status, {"IssueList": list(issues)})


def regular(status: int, path: str, message: str, error: str = "Bad Request") -> Reply:
    return Reply(status, {"timestamp": datetime.now(UTC).isoformat(), "status": status,
                          "error": error, "path": path, "traceId": uuid.uuid4().hex,
                          "message": message})


class _Handler(EmulatorHandler):
    emulator: LexofficeEmulator
    methods = ("GET", "POST", "PUT")

    def dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        body = self.read_body()
        try:
            reply = self.emulator.handle(method, parts.path, parse_qs(parts.query),
                                         self.headers, body)
        except Reply as raised:
            reply = raised
        except Exception as exc:  # a bug in the emulator must still answer
            reply = Reply(500, {"message": f"emulator error: {type(exc).__name__}: {exc}"})
        self.emulator.state.record(method, parts.path, reply.status)
        self.send_json(reply.status, reply.body, reply.headers, ensure_ascii=False)


class LexofficeEmulator(Emulator):
    """`with LexofficeEmulator(rate=50) as emu:` → `emu.url`, `emu.state`, `emu.config()`."""

    name = "lexoffice"
    handler = _Handler
    command: ClassVar[click.Command] = cli_command

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, rate: float = 2.0,
                 api_key: str = "sandbox-api-key", login_email: str = "buchhaltung@example.com",
                 login_password: str = "sandbox-password", window: int = 10_000,
                 specs_dir: Path | None = None, small_business: bool = False,
                 destination_principle: bool = False) -> None:
        super().__init__(host=host, port=port)
        specs = specs_dir if specs_dir is not None else find_specs("lexoffice")
        self.state = EmulatorState(api_key=api_key, rate=rate, window=window, specs_dir=specs,
                                   login_email=login_email, login_password=login_password,
                                   small_business=small_business,
                                   destination_principle=destination_principle)
        self.validator = VoucherValidator(specs)

    def config(self, **overrides: Any) -> dict[str, Any]:
        """The `[plugins.lexoffice]` keys that point syncd at this emulator."""
        values: dict[str, Any] = {
            "enabled": True, "base_url": self.url, "api_key": self.state.api_key,
            "requests_per_second": self.state.bucket.rate, "app_url": self.url,
            "login_email": self.state.login_email, "login_password": self.state.login_password}
        values.update(overrides)
        return values

    def config_values(self, **overrides: Any) -> dict[str, Any]:
        return self.config(**overrides)

    # handlers --------------------------------------------------------------------------------
    def handle(self, method: str, path: str, query: dict[str, list[str]],
               headers: Any, body: bytes) -> Reply:
        state = self.state
        found = find_route(ROUTES, method, path)
        if found is None:
            return Reply(404, {"message": "Not Found"} if path.startswith("/v1/") else
                         {"error": "not found"})
        name, match = found
        if path.startswith("/grld-"):
            if headers.get("Authorization"):
                state.violations.append(f"{method} {path} carried an Authorization header")
        else:
            if not state.bucket.take():
                return Reply(429, {"message": GATEWAY[429]})
            if not state.key_valid or headers.get("Authorization") != f"Bearer {state.api_key}":
                return Reply(401, {"message": "Unauthorized"})
        fault = state.fault_for(method, path)
        if fault is not None and not fault.after_effect:
            return Reply(fault.status, {"message": GATEWAY.get(fault.status, "error")})
        reply = getattr(self, name)(match, query, headers, body)
        if fault is not None and fault.status == 0:
            time.sleep(fault.delay)
        elif fault is not None:
            return Reply(fault.status, {"message": GATEWAY.get(fault.status, "error")})
        return reply

    def profile(self, match: Any, query: Any, headers: Any, body: bytes) -> Reply:
        return Reply(200, self.state.profile)

    def categories(self, match: Any, query: Any, headers: Any, body: bytes) -> Reply:
        return Reply(200, self.state.categories)

    def create_voucher(self, match: Any, query: Any, headers: Any, body: bytes) -> Reply:
        if "json" not in (headers.get("Content-Type") or ""):
            raise Reply(415, {"IssueList": [issue(None, "unsupported_media_type",
                                                  "bad_request_error")]})
        try:
            data = json.loads(body, parse_float=Decimal)
        except ValueError:
            raise legacy(400, issue(None, "bad_request_error", "bad_request_error")) from None
        found = self.validator.schema_issues(_plain(data))
        if not found:
            found = self.validator.rule_issues(data, self.state.category,
                                               lambda cid: cid in self.state.contacts)
        if found:
            raise legacy(406, *found)
        voucher = self.state.add_voucher(_plain(data))
        stamp = berlin_stamp(voucher.created)
        return Reply(201, {"id": voucher.id, "resourceUri": f"{self.url}/v1/vouchers/{voucher.id}",
                           "createdDate": stamp, "updatedDate": stamp, "version": 1})

    def get_voucher(self, match: Any, query: Any, headers: Any, body: bytes) -> Reply:
        voucher = self.state.vouchers.get(match["id"])
        if voucher is None:
            raise legacy(404, issue("id", "missing_entity"))
        return Reply(200, {**voucher.body, "id": voucher.id, "voucherStatus": voucher.status,
                           "files": voucher.files, "version": voucher.version})

    def attach(self, match: Any, query: Any, headers: Any, body: bytes) -> Reply:
        voucher_id = match["id"]
        if voucher_id not in self.state.vouchers:
            raise legacy(404, issue("id", "missing_entity"))
        part = _file_part(headers.get("Content-Type") or "", body)
        if part is None:
            raise legacy(400, issue("file", "missing_entity"))
        media, data = part
        if len(data) > MAX_FILE:
            raise legacy(406, issue("file", "file_too_large"))
        if media not in FILE_TYPES:
            raise legacy(415, issue("file", "unsupported_media_type"))
        try:
            file_id, _new = self.state.attach(voucher_id, data)
        except ValueError:
            raise legacy(406, issue("file", "file_already_assigned")) from None
        return Reply(202, {"id": file_id})

    def voucherlist(self, match: Any, query: dict[str, list[str]], headers: Any,
                    body: bytes) -> Reply:
        path = "/v1/voucherlist"
        arg = {k: v[-1] for k, v in query.items()}
        if "voucherType" not in arg or "voucherStatus" not in arg:
            raise regular(400, path, "voucherType and voucherStatus are mandatory")
        try:
            page, size = int(arg.get("page", 0)), int(arg.get("size", 25))
            start = date.fromisoformat(arg["voucherDateFrom"]) if "voucherDateFrom" in arg else None
            end = date.fromisoformat(arg["voucherDateTo"]) if "voucherDateTo" in arg else None
        except ValueError as exc:
            raise regular(400, path, f"bad parameter: {exc}") from None
        if not 1 <= size <= 250 or page < 0:
            raise regular(400, path, "size must be 1..250 and page >= 0")
        if (page + 1) * size > self.state.window:
            raise regular(400, path, "Maximum search window size exceeded")
        types, statuses = arg["voucherType"].split(","), arg["voucherStatus"].split(",")
        number = arg.get("voucherNumber")
        if number is not None and self.state.number_filter == "ignored":
            number = None
        elif number is not None and self.state.number_filter == "exact":
            number = number.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        with self.state.lock:
            rows = [v for v in self.state.vouchers.values()
                    if ("any" in types or v.body["type"] in types)
                    and ("any" in statuses or v.status in statuses)
                    and (number is None or v.body.get("voucherNumber") == number)
                    and (start is None or date.fromisoformat(v.body["voucherDate"][:10]) >= start)
                    and (end is None or date.fromisoformat(v.body["voucherDate"][:10]) <= end)]
        rows.sort(key=lambda v: (v.body["voucherDate"][:10], v.created))
        total = len(rows)
        content = [v.row() for v in rows[page * size:(page + 1) * size]]
        pages = (total + size - 1) // size
        return Reply(200, {"content": content, "first": page == 0, "last": page >= pages - 1,
                           "totalPages": pages, "totalElements": total,
                           "numberOfElements": len(content), "size": size, "number": page})

    def payments(self, match: Any, query: Any, headers: Any, body: bytes) -> Reply:
        voucher = self.state.vouchers.get(match["id"])
        if voucher is None:
            raise regular(404, f"/v1/payments/{match['id']}", "not found", "Not Found")
        open_amount = voucher.gross - voucher.paid
        return Reply(200, {"openAmount": float(open_amount), "currency": "EUR",
                           "paymentStatus": "balanced" if open_amount <= 0 else "openRevenue",
                           "voucherType": voucher.body["type"], "voucherStatus": voucher.status,
                           "paidDate": voucher.paid_date, "paymentItems": []})

    def list_contacts(self, match: Any, query: dict[str, list[str]], headers: Any,
                      body: bytes) -> Reply:
        name = (query.get("name") or [""])[-1].replace("&amp;", "&")
        with self.state.lock:
            rows = [c for c in self.state.contacts.values() if not name or name.casefold() in (
                (c.get("company") or {}).get("name") or (c.get("person") or {}).get(
                    "lastName") or "").casefold()]
        return Reply(200, {"content": rows, "last": True, "first": True,
                           "totalElements": len(rows), "totalPages": 1})

    def create_contact(self, match: Any, query: Any, headers: Any, body: bytes) -> Reply:
        data = json.loads(body)
        if "customer" not in (data.get("roles") or {}) or not (data.get("company")
                                                               or data.get("person")):
            raise legacy(406, issue("roles", "missing_entity"))
        cid = str(uuid.uuid4())
        with self.state.lock:
            self.state.contacts[cid] = {**data, "id": cid, "version": 1}
        return Reply(200, {"id": cid, "resourceUri": f"{self.url}/v1/contacts/{cid}",
                           "version": 1})

    # web app ---------------------------------------------------------------------------------
    def login(self, match: Any, query: Any, headers: Any, body: bytes) -> Reply:
        state = self.state
        state.logins += 1
        data = json.loads(body or b"{}")
        if data.get("username") != state.login_email or data.get(
                "password") != state.login_password:
            raise Reply(401, {"error": "invalid_credentials"})
        if state.login_challenge:
            return Reply(200, {"mfaRequired": True, "challenge": "totp"})
        token = secrets.token_urlsafe(24)
        state.sessions.add(token)
        return Reply(200, {"ok": True}, {"Set-Cookie": f"grldJWT={token}; Path=/; HttpOnly"})

    def pay(self, match: Any, query: Any, headers: Any, body: bytes) -> Reply:
        cookie = headers.get("Cookie") or ""
        token = next((p.split("=", 1)[1] for p in cookie.split("; ")
                      if p.startswith("grldJWT=")), None)
        if token not in self.state.sessions:
            raise Reply(401, {"error": "session expired"})
        voucher = self.state.vouchers.get(match["id"])
        if voucher is None:
            raise Reply(404, {"error": "unknown voucher"})
        data = json.loads(body, parse_float=Decimal)
        if data.get("method") != "personal" or data.get("balanceReferenceType") != "PartPayment":
            raise Reply(400, {"error": "unsupported payment"})
        with self.state.lock:
            voucher.paid += Decimal(str(data["amount"]))
            voucher.paid_date = str(data["postingDate"])
            self.state.payments.append({"voucher": voucher.id, **_plain(data)})
        return Reply(200, {"entityId": voucher.id, "openAmount": float(voucher.gross
                                                                        - voucher.paid)})


def _plain(value: Any) -> Any:
    """Decimals → int/float again, for the JSON Schema (which types numbers) and storage."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _file_part(content_type: str, body: bytes) -> tuple[str, bytes] | None:
    if not content_type.startswith("multipart/form-data"):
        return None
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "file":
            return part.get_content_type(), part.get_payload(decode=True) or b""
    return None
