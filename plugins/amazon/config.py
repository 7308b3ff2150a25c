"""`[plugins.amazon]`: the key names are part of syncd's public interface."""

from __future__ import annotations

import re
from datetime import date, timedelta

from pydantic import Field, HttpUrl, SecretStr, field_validator

from syncd.connectors import NumberSeries, PluginConfig
from syncd.durations import Duration
from syncd.numbering import NumberFormatError, check_format, format_number

_ALLOWED = re.compile(r"^[A-Za-z0-9 ,/\\_;:#-]+$")


class AmazonConfig(PluginConfig):
    endpoint: HttpUrl = HttpUrl("https://sellingpartnerapi-eu.amazon.com")
    token_url: HttpUrl = HttpUrl("https://api.amazon.com/auth/o2/token")
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    refresh_token: SecretStr
    marketplace_ids: list[str] = Field(min_length=1)
    upload_interval: Duration = Field(
        default=timedelta(seconds=3), description="Minimum spacing of two uploads"
    )
    report_poll_interval: Duration = Field(default=timedelta(seconds=30))
    feed_poll_interval: Duration = Field(default=timedelta(seconds=30))
    invoice_series: str = "INV-{year}-{seq:06d}"
    credit_note_series: str = "CN-{year}-{seq:06d}"
    # added keys, all with defaults
    retry_attempts: int = Field(default=8, ge=1, description="Attempts per call on 429/5xx")
    backoff_base: Duration = Field(default="1s", description="First backoff step (jittered)")
    backoff_max: Duration = Field(default="60s", description="Longest backoff step")
    request_timeout: Duration = Field(default="60s")
    report_timeout: Duration = Field(default="2h", description="Give up waiting for a VIDR")
    feed_timeout: Duration = Field(default="1h",
                                   description="Stop polling a feed; the retry resumes it")
    upload_settle: Duration = Field(
        default="15m", description="How long a VIDR may lag behind an upload before syncd "
        "trusts its 'still pending' over an upload whose outcome it never learnt")
    sla_warning: Duration = Field(default="6h",
                                  description="Warn this long before the 24 h upload deadline")

    @field_validator("marketplace_ids")
    @classmethod
    def _known_marketplaces(cls, value: list[str]) -> list[str]:
        """Only marketplaces where Amazon takes seller-uploaded VAT invoices."""
        from syncd_amazon.documents import MARKETPLACE_COUNTRY

        unknown = [m for m in value if m not in MARKETPLACE_COUNTRY]
        if unknown:
            known = ", ".join(f"{m} ({c})" for m, c in MARKETPLACE_COUNTRY.items())
            raise ValueError(f"unknown marketplace id(s) {', '.join(map(repr, unknown))}; "
                             f"VAT invoice upload marketplaces: {known}")
        return value

    @field_validator("invoice_series", "credit_note_series")
    @classmethod
    def _amazon_safe(cls, value: str) -> str:
        """A usable series (syncd.numbering) whose numbers Amazon accepts as InvoiceNumber."""
        series = NumberSeries("amazon", value)
        try:
            check_format(series)
            sample = format_number(series, 123456, date(2026, 12, 31))
        except (NumberFormatError, ValueError) as exc:
            raise ValueError(str(exc)) from None
        if not _ALLOWED.match(sample):
            raise ValueError(
                f"{value!r} gives numbers like {sample!r}; Amazon allows only letters, digits, "
                "space and , / \\ - _ ; : #"
            )
        return value
