"""The Afterbuy emulator: web login, invoice PDFs and the XML API on a real HTTP server.

- `GET /login` is the login form; `POST /login` (form fields `username`, `password`) answers
  302 with a session cookie, or the form again for wrong credentials: 401, or (with
  `refused_status = 200`) 200 and an anonymous cookie, as many web logins do.
- `GET /rechnungen/{invoice_number}.pdf` needs the session: the PDF of a known invoice, 404
  for an unknown number, and a redirect to `/login` once the session expired (after
  `session_downloads` downloads, 0 = never, or after `expire_sessions()`).
- `POST /afterbuy/ABInterface.aspx` is `GetSoldItems`: tokens checked, `DateFilter` on ModDate
  or InvoiceDate, `RangeID`, `MaxSoldItems` (1-250), answers paged with `HasMoreItems` and
  `LastOrderID`, orders ascending by OrderID, errors as Afterbuy's `CallStatus Error`.
Every request is recorded (`received`), so tests can count logins and downloads.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterable
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit
from xml.etree.ElementTree import Element, SubElement, tostring

import click
import defusedxml.ElementTree as SafeET

from syncd.testing.emulator import Emulator, EmulatorHandler, FaultQueues, Recorded, RequestLog
from syncd_afterbuy.sandbox.cli import command as cli_command
from syncd_afterbuy.sandbox.generator import GeneratedInvoice
from syncd_afterbuy.sandbox.orders import STAMP, Order, invoice_pdf, order_xml, orders_from

LOGIN_FORM = """<!doctype html><html><head><meta charset="utf-8"><title>Afterbuy Login</title>
</head><body><h1>Afterbuy Login (sandbox)</h1>{error}<form method="post" action="/login">
<label>Benutzername <input name="username"></label>
<label>Passwort <input name="password" type="password"></label>
<button type="submit">Anmelden</button></form></body></html>"""
COOKIE = "ABSESSION"


class _Handler(EmulatorHandler):
    emulator: AfterbuyEmulator

    def _reply(self, status: int, body: bytes, content_type: str, kind: str, detail: str = "",
               headers: dict[str, str] | None = None) -> None:
        self.emulator.received.append(Recorded(self.command, urlsplit(self.path).path, status,
                                               kind, note=detail))
        self.send_bytes(status, body, content_type, headers)

    def _fault(self, kind: str) -> bool:
        """Answer with an injected status (e.g. 503) instead of doing the work."""
        status = self.emulator.fail_next.take(kind)
        if status is None:
            return False
        self._reply(status, b"injected failure", "text/plain", kind, f"fault {status}",
                    {"Retry-After": "0"} if status == 429 else None)
        return True

    def _session(self) -> str | None:
        for part in (self.headers.get("Cookie") or "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE:
                return value
        return None

    def dispatch(self, method: str) -> None:
        (self._get if method == "GET" else self._post)(urlsplit(self.path).path)

    def _get(self, path: str) -> None:
        if path == "/login":
            self._reply(200, LOGIN_FORM.format(error="").encode(), "text/html; charset=utf-8",
                        "login-form")
            return
        if path.startswith("/rechnungen/") and path.endswith(".pdf"):
            if self._fault("pdf"):
                return
            self._pdf(path[len("/rechnungen/"):-len(".pdf")])
            return
        self._reply(404, b"not found", "text/plain", "unknown")

    def _pdf(self, number: str) -> None:
        em = self.emulator
        token = self._session()
        with em.lock:
            used = em.sessions.get(token or "")
            if used is not None and em.session_downloads and used >= em.session_downloads:
                del em.sessions[token or ""]
                used = None
            if used is not None:
                em.sessions[token or ""] = used + 1
            known = number in em.pdfs
        if used is None:
            self._reply(302, b"", "text/html", "pdf-expired", number,
                        {"Location": "/login?expired=1"})
            return
        if not known:
            self._reply(404, b"Rechnung nicht gefunden", "text/plain", "pdf", number)
            return
        with em.lock:
            data = em.pdfs.get(number) or invoice_pdf(number)
            em.pdfs[number] = data
        self._reply(200, data, "application/pdf", "pdf", number)

    def _post(self, path: str) -> None:
        body = self.read_body()
        if path in ("/login", "/afterbuy/ABInterface.aspx") and self._fault(
                "login" if path == "/login" else "api"):
            return
        if path == "/login":
            form = parse_qs(body.decode("utf-8", "replace"))
            user = (form.get("username") or [""])[0]
            password = (form.get("password") or [""])[0]
            em = self.emulator
            if (user, password) != (em.username, em.password):
                page = LOGIN_FORM.format(error="<p>Benutzername oder Passwort falsch</p>")
                # like many web apps, the 200 variant hands out an anonymous session cookie
                anonymous = {"Set-Cookie": f"{COOKIE}=anon{secrets.token_hex(8)}; Path=/"}
                self._reply(em.refused_status, page.encode(), "text/html; charset=utf-8",
                            "login", "refused", anonymous if em.refused_status == 200 else None)
                return
            token = secrets.token_hex(16)
            with em.lock:
                em.sessions[token] = 0
                em.issued.append(token)
            self._reply(302, b"", "text/html", "login", "ok", {
                "Location": "/start", "Set-Cookie": f"{COOKIE}={token}; Path=/; HttpOnly"})
            return
        if path == "/afterbuy/ABInterface.aspx":
            answer, detail = self.emulator.sold_items(body)
            self._reply(200, answer, "text/xml; charset=utf-8", "api", detail)
            return
        self._reply(404, b"not found", "text/plain", "unknown")


class AfterbuyEmulator(Emulator):
    """Start with `.start()` (a free port on 127.0.0.1), stop with `.stop()`."""

    name = "afterbuy"
    handler = _Handler
    command: ClassVar[click.Command] = cli_command

    def __init__(self, invoices: Iterable[GeneratedInvoice] = (), *, host: str = "127.0.0.1",
                 port: int = 0, username: str = "sandbox-user",
                 password: str = "sandbox-password", partner_token: str = "sandbox-partner",
                 account_token: str = "sandbox-account", session_downloads: int = 0,
                 amazon_every: int = 0) -> None:
        super().__init__(host=host, port=port)
        self.username, self.password = username, password
        self.partner_token, self.account_token = partner_token, account_token
        self.session_downloads = session_downloads
        self.lock = threading.Lock()
        self.sessions: dict[str, int] = {}
        self.issued: list[str] = []
        """Every session token handed out (tests look for them where they must not be)."""
        self.refused_status = 401
        """Wrong credentials: 401 with the form, or 200 with the form and an anonymous cookie."""
        self.pdfs: dict[str, bytes] = {}
        self.orders: list[Order] = []
        self.received: RequestLog[Recorded] = RequestLog()
        """Every request: `operation` is its kind ("login", "pdf", "api", …), `note` details."""
        self.fail_next: FaultQueues[int] = FaultQueues()
        """Status codes to answer the next requests of a kind ("login", "pdf", "api") with."""
        self.add_invoices(list(invoices), amazon_every=amazon_every)

    # state ---------------------------------------------------------------------------------
    def add_invoices(self, invoices: list[GeneratedInvoice], *, amazon_every: int = 0,
                     modified: datetime | None = None) -> None:
        """Known to the PDF download and served by GetSoldItems."""
        with self.lock:
            first = max((o.order_id for o in self.orders), default=480000) + 1
            for invoice in invoices:
                self.pdfs[invoice.number] = b""  # rendered on first download
            self.orders.extend(orders_from(invoices, first_id=first, amazon_every=amazon_every,
                                           modified=modified))

    def forget_pdf(self, number: str) -> None:
        with self.lock:
            self.pdfs.pop(number, None)

    def add_pdf(self, number: str) -> None:
        with self.lock:
            self.pdfs.setdefault(number, b"")

    def expire_sessions(self) -> None:
        with self.lock:
            self.sessions.clear()

    def count(self, kind: str, status: int | None = None) -> int:
        return len(self.received.where(
            lambda r: r.operation == kind and (status is None or r.status == status)))

    def config_values(self, *, api: bool = False, **overrides: Any) -> dict[str, Any]:
        """`[plugins.afterbuy]` keys pointing at this emulator (tokens only with `api`)."""
        values: dict[str, Any] = {
            "enabled": True, "username": self.username, "password": self.password,
            "login_url": f"{self.url}/login",
            "pdf_url": f"{self.url}/rechnungen/{{invoice_number}}.pdf",
        }
        if api:
            values.update(partner_token=self.partner_token, account_token=self.account_token,
                          api_url=f"{self.url}/afterbuy/ABInterface.aspx")
        values.update(overrides)
        return values

    # XML API -------------------------------------------------------------------------------
    def sold_items(self, body: bytes) -> tuple[bytes, str]:
        """The GetSoldItems answer for `body` and a short description for the record."""
        try:
            request = SafeET.fromstring(body, forbid_dtd=True)
        except Exception as exc:  # hostile or broken XML: Afterbuy answers an error
            return _error("GetSoldItems", "1", f"invalid XML: {type(exc).__name__}"), "bad-xml"
        glob = request.find("AfterbuyGlobal")
        text = lambda node, path: (node.findtext(path) or "").strip() if node is not None else ""  # noqa: E731
        call = text(glob, "CallName")
        if (text(glob, "PartnerToken"), text(glob, "AccountToken")) != (self.partner_token,
                                                                       self.account_token):
            return _error(call, "7", "Authentifizierung fehlgeschlagen: PartnerToken oder "
                          "AccountToken ungültig"), "auth"
        if call != "GetSoldItems":
            return _error(call, "2", f"unknown CallName {call!r}"), "call"
        try:
            size = int(text(request, "MaxSoldItems") or "250")
        except ValueError:
            size = 0
        if not 1 <= size <= 250:
            return _error(call, "3", "MaxSoldItems must be 1-250"), "size"
        date_from = date_to = None
        field, range_from, range_to = "ModDate", 0, 2**31
        for flt in request.findall("./DataFilter/Filter"):
            name, values = text(flt, "FilterName"), flt.find("FilterValues")
            try:
                if name == "DateFilter":
                    field = text(values, "FilterValue")
                    date_from = datetime.strptime(text(values, "DateFrom"), STAMP)
                    date_to = datetime.strptime(text(values, "DateTo"), STAMP)
                elif name == "RangeID":
                    range_from = int(text(values, "ValueFrom"))
                    range_to = int(text(values, "ValueTo"))
            except ValueError:
                return _error(call, "4", f"filter {name}: unreadable value"), "filter"
        if field not in ("ModDate", "InvoiceDate"):
            return _error(call, "5", f"DateFilter {field!r} is not emulated"), "filter"
        with self.lock:
            hits = sorted((o for o in self.orders
                           if range_from <= o.order_id <= range_to
                           and _in(o, field, date_from, date_to)), key=lambda o: o.order_id)
        page, more = hits[:size], len(hits) > size
        root = Element("Afterbuy")
        SubElement(root, "CallStatus").text = "Success"
        SubElement(root, "CallName").text = call
        result = SubElement(root, "Result")
        SubElement(result, "HasMoreItems").text = "1" if more else "0"
        SubElement(result, "OrdersCount").text = str(len(page))
        if page:
            SubElement(result, "LastOrderID").text = str(page[-1].order_id)
        orders = SubElement(result, "Orders")
        for order in page:
            order_xml(orders, order)
        answer = b'<?xml version="1.0" encoding="utf-8"?>' + tostring(root, encoding="utf-8",
                                                                       xml_declaration=False)
        return answer, f"{len(page)} orders, more={int(more)}"


def _in(order: Order, field: str, start: datetime | None, end: datetime | None) -> bool:
    from datetime import time as dtime

    stamp = order.modified if field == "ModDate" else datetime.combine(
        order.invoice.issue_date, dtime(10))
    return (start is None or stamp >= start) and (end is None or stamp <= end)


def _error(call: str, code: str, message: str) -> bytes:
    root = Element("Afterbuy")
    SubElement(root, "CallStatus").text = "Error"
    SubElement(root, "CallName").text = call
    error = SubElement(SubElement(SubElement(root, "Result"), "ErrorList"), "Error")
    SubElement(error, "ErrorCode").text = code
    SubElement(error, "ErrorDescription").text = message
    return tostring(root, encoding="utf-8")
