"""`[plugins.amazon]`: the key names are part of syncd's public interface."""

from __future__ import annotations

import re
from datetime import timedelta

from pydantic import Field, HttpUrl, SecretStr, field_validator

from syncd.connectors import PluginConfig
from syncd.durations import Duration

# {year} and {seq…} are the only fields a series may use; the rest must be Amazon-safe text
_SAFE = r"[A-Za-z0-9 ,/\\\-_;:#]"
_SERIES = re.compile(rf"^({_SAFE}|\{{year\}}|\{{seq(:0?\d+d)?\}})*$")


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

    @field_validator("invoice_series", "credit_note_series")
    @classmethod
    def _amazon_safe(cls, value: str) -> str:
        if "{seq" not in value:
            raise ValueError("a number series needs a {seq} field, e.g. 'INV-{year}-{seq:06d}'")
        if not _SERIES.match(value):
            raise ValueError(
                "only letters, digits, space and , / \\ - _ ; : # are allowed around "
                "{year} and {seq}"
            )
        return value
