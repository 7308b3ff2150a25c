"""Errors of the Amazon plugin, each saying what the operator has to do."""

from __future__ import annotations

from syncd.errors import ConfigError, PermanentError

ROLE_MESSAGE = (
    'Amazon refused {operation} with 403 Unauthorized: the app lacks the restricted '
    '"Tax Invoicing" role needed for the VAT Invoice Data Report and UPLOAD_VAT_INVOICE. '
    "Request the role for the app in Seller Central / the developer profile, then "
    "re-authorize the app"
)


class AmazonAuthError(ConfigError):
    """Credentials or app roles are unusable; every call would fail, so the pipeline stops.

    A ConfigError on purpose: the engine should stop the pipeline instead of moving each
    document to `error` one by one. `code` is the LWA error code or "Unauthorized".
    """

    def __init__(self, message: str, *, code: str | None = None) -> None:
        self.code = code
        super().__init__([message], source="[plugins.amazon]")


class SpApiError(PermanentError):
    """An SP-API call refused for a reason a retry cannot fix (400, 404, 415 ...)."""

    def __init__(self, operation: str, status: int, code: str | None, message: str,
                 request_id: str | None = None) -> None:
        self.operation = operation
        self.status = status
        self.request_id = request_id
        rid = f" (x-amzn-RequestId {request_id})" if request_id else ""
        named = f" {code}" if code else ""
        super().__init__(f"{operation}: HTTP {status}{named}: {message}{rid}".strip(),
                         code=code)
