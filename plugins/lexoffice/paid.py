"""The "paid" step's facts from the Public API: a voucher's open amount and its paid date.

`GET /v1/payments/{id}` is read-only but tells whether the voucher is settled, so the step can
tell a payment it recorded (whose answer was lost) from one still to record, and never books
more than is open: a bank or PayPal match may have paid the voucher while the step waited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from syncd.errors import PermanentError, TransientError
from syncd.model import Document

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Balance:
    open: Decimal
    settled: bool
    detail: dict[str, Any]


def balance(payment: dict[str, Any], voucher_id: str) -> Balance:
    """Settled when nothing is open (or overpaid) or lexoffice says `balanced`."""
    try:
        open_amount = Decimal(str(payment.get("openAmount"))).quantize(CENT)
    except (InvalidOperation, ValueError):
        raise TransientError(f"lexoffice GET /v1/payments/{voucher_id}: no readable openAmount "
                             f"({payment.get('openAmount')!r})") from None
    settled = open_amount <= 0 or payment.get("paymentStatus") == "balanced"
    return Balance(open_amount, settled, {"paidDate": payment.get("paidDate"), "found": True,
                                          "openAmount": str(open_amount)})


def paid_date(document: Document) -> date:
    """The document's paid date (`extra["paid_date"]` or a source's `"<source>:paid_date"`,
    e.g. Afterbuy's "Bezahlt am", ISO) or else its invoice date."""
    text = document.extra.get("paid_date") or document.extra.get("payment_date") or next(
        (v for k, v in sorted(document.extra.items()) if k.endswith(":paid_date") and v), None)
    if text:
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            raise PermanentError(f"document {document.identity}: extra.paid_date {text!r} is "
                                 "not an ISO date", code="paid_date") from None
    if document.issue_date is None:
        raise PermanentError(f"document {document.identity}: no paid date and no issue date")
    return document.issue_date
