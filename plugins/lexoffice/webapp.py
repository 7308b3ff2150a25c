"""UNOFFICIAL: records a payment through the lexoffice web app with a user login.

The Public API cannot mark a voucher as paid (an API key has no bookkeeping permission; see
docs/lexoffice.md). This module is the opt-in route for `mark_paid = true`: it logs in to the
web app (`app_url`) with `login_email` / `login_password` like the browser does and records a
"Privat" payment on the voucher ("Zahlung erfassen"). It is isolated on purpose:

- it never sees the API key and never talks to the Public API host;
- it is undocumented by Lexware and can break whenever the web app changes;
- a login challenge (second factor, captcha) stops the pipeline with one clear line;
- a payment booked here must not be matched again when the bank or PayPal transaction arrives.
"""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from syncd.errors import ConfigError, PermanentError, TransientError
from syncd.log import get_logger
from syncd_lexoffice.client import dumps
from syncd_lexoffice.errors import body_of, describe

log = get_logger("syncd_lexoffice.webapp")
LOGIN = "/grld-public/login/authorize"
PAYMENT = "/grld-rest/personalsalesinvoiceservice/1/v100/payment/{id}"
COOKIE = "grldJWT"
DOUBLE_COUNT = ("payments are booked as 'Privat' (transit), not against a bank account: do not "
                "assign the later bank or PayPal transaction to these vouchers again, or the "
                "sale is counted twice")


class WebAppSession:
    """One logged-in web-app session, renewed once when the cookie expires (about 5 h)."""

    def __init__(self, app_url: str, email: str, password: str, *, method: str = "personal",
                 timeout: float = 30.0, transport: httpx.BaseTransport | None = None) -> None:
        self.email, self._password, self.method = email, password, method
        self.client = httpx.Client(base_url=app_url.rstrip("/"), timeout=timeout,
                                   headers={"Accept": "application/json"}, transport=transport)
        self.lock = threading.Lock()
        self.logged_in = False
        self.refused: str | None = None

    def login(self) -> None:
        if self.refused:
            raise ConfigError([self.refused])
        try:
            response = self.client.post(LOGIN, content=dumps(
                {"username": self.email, "password": self._password}),
                headers={"Content-Type": "application/json"})
        except httpx.HTTPError as exc:
            raise TransientError(f"lexoffice web app login: {type(exc).__name__}: {exc}") from exc
        body = body_of(response)
        challenge = isinstance(body, dict) and (body.get("mfaRequired") or body.get("challenge"))
        if response.status_code in (401, 403) or challenge:
            self.refused = (
                f"lexoffice web app asks {self.email} for a second factor or captcha "
                f"({body.get('challenge') or 'mfa'}); mark_paid needs a login without one, or "
                "set mark_paid = false" if challenge else
                f"lexoffice web app refused the login of {self.email} (HTTP "
                f"{response.status_code}: {describe(body)}); check login_email / "
                "login_password or set mark_paid = false")
            raise ConfigError([self.refused])
        if response.status_code >= 500:
            raise TransientError(f"lexoffice web app login: HTTP {response.status_code}")
        if response.status_code != 200 or COOKIE not in self.client.cookies:
            raise PermanentError(f"lexoffice web app login answered HTTP {response.status_code} "
                                 f"without a session cookie; the unofficial route may have "
                                 "changed (set mark_paid = false)", code="webapp")
        self.logged_in = True
        log.warning("web app login for mark_paid (unofficial route)", email=self.email,
                    warning=DOUBLE_COUNT)

    def record_payment(self, voucher_id: str, amount: Decimal, day: date) -> dict[str, Any]:
        """PUT the payment; logs in first and once more when the session has expired."""
        body = {"amount": amount, "postingDate": day.isoformat(), "method": self.method,
                "balanceReferenceType": "PartPayment"}
        with self.lock:
            for attempt in (1, 2):
                if not self.logged_in:
                    self.login()
                try:
                    response = self.client.put(PAYMENT.format(id=voucher_id), content=dumps(body),
                                               headers={"Content-Type": "application/json"})
                except httpx.HTTPError as exc:
                    raise TransientError(f"lexoffice web app payment: {type(exc).__name__}: "
                                         f"{exc}") from exc
                if response.status_code == 401 and attempt == 1:
                    self.logged_in = False
                    continue
                break
        if response.status_code in (200, 201, 204):
            return body_of(response) if response.content else {}
        text = f"HTTP {response.status_code}: {describe(body_of(response))}"
        if response.status_code >= 500 or response.status_code == 429:
            raise TransientError(f"lexoffice web app payment for voucher {voucher_id}: {text}",
                                 code=str(response.status_code))
        raise PermanentError(f"lexoffice web app payment for voucher {voucher_id}: {text}",
                             code=str(response.status_code))

    def close(self) -> None:
        self.client.close()
