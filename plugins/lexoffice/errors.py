"""lexoffice's three error envelopes (plus bare strings) as one line naming the field.

Branches on the HTTP status and the machine keys (`i18nKey`/`violation`, `source`/`field`),
never on the German, unstable message text.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from syncd.errors import ConfigError, DeliveryError, PermanentError, TransientError

AUTH_PROBLEM = ("lexoffice rejected the API key (401 Unauthorized): it is wrong, expired or "
                "revoked; create a new key under Add-ons → Public API and set "
                "plugins.lexoffice.api_key")


def describe(body: Any) -> str:
    """`voucherItems[0].taxRatePercent: invalid_value` for a legacy IssueList, and so on;
    always one line (messages may carry line breaks, error lists and logs want one line)."""
    return " ".join(_describe(body).split())[:1000] or "empty error body"


def _describe(body: Any) -> str:
    if isinstance(body, str):
        return body.strip() or "empty error body"
    if isinstance(body, dict):
        issues = body.get("IssueList")
        if isinstance(issues, list) and issues:
            return "; ".join(_issue(i) for i in issues if isinstance(i, dict)) or "IssueList"
        details = body.get("details")
        if isinstance(details, list) and details:
            parts = [f"{d.get('field') or '?'}: {d.get('violation') or d.get('message') or '?'}"
                     for d in details if isinstance(d, dict)]
            if parts:
                return "; ".join(parts)
        if "i18nKey" in body:  # a single issue flattened to the top level
            return _issue(body)
        if body.get("message"):
            return str(body["message"])
        if body.get("error"):
            return str(body["error"])
    return json.dumps(body, ensure_ascii=False)[:300]


def _issue(issue: dict[str, Any]) -> str:
    key = issue.get("i18nKey") or issue.get("type") or "error"
    source = issue.get("source")
    return f"{source}: {key}" if source else str(key)


def body_of(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:300]


def error_for(response: httpx.Response, what: str) -> DeliveryError | ConfigError:
    """The exception for a non-success answer to `what` ("POST /v1/vouchers")."""
    status = response.status_code
    text = describe(body_of(response))
    if status == 401:
        return ConfigError([AUTH_PROBLEM])
    message = f"lexoffice {what}: HTTP {status}: {text}"
    if status == 429:
        return TransientError(message + " (rate limit; the call was not performed)",
                              code="429", retry_after=_retry_after(response))
    if status >= 500 or status == 408:
        return TransientError(message, code=str(status))
    return PermanentError(message, code=str(status))


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return min(30.0, max(0.25, float(value))) if value else None
    except ValueError:
        return None
