"""`[plugins.xentral]`: the key names are part of syncd's public interface (issue 10)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, HttpUrl, SecretStr, field_validator, model_validator

from syncd.connectors import NumberSeries, PluginConfig
from syncd.durations import Duration
from syncd.numbering import NumberFormatError, check_format, format_number


class XentralConfig(PluginConfig):
    base_url: HttpUrl = Field(description="Your instance, e.g. https://mycompany.xentral.biz")
    token: SecretStr = Field(description="Personal access token (Bearer)")
    project_fba: str | None = Field(default=None, description="Project id for FBA documents")
    project_fbm: str | None = Field(default=None, description="Project id for FBM documents")
    create_orders: bool = Field(
        default=False, description="Expert mode: create the sales order when none exists")
    mark_fba_paid: bool = Field(default=True, description="FBA invoices are paid by Amazon")
    customer: Literal["collective", "per-buyer"] = "collective"
    collective_customer_id: str | None = None
    shipping_product: str = "PORTO"
    discount_product: str = "RABATT"
    giftwrap_product: str = "GESCHENK"
    create_missing_products: bool = False
    # added keys, all with defaults
    requests_per_minute: int = Field(
        default=100, ge=1, description="Xentral's limit per instance and client IP")
    request_timeout: Duration = Field(default="60s")
    invoice_series: str = Field(
        default="INV-{year}-{seq:06d}", description="For documents that arrive unnumbered "
        "(Amazon); the series is the source's, shared with every target that numbers them")
    credit_note_series: str = "CN-{year}-{seq:06d}"
    token_expires: date | None = Field(
        default=None, description="The token's expiry date (tokens expire after <= 180 days); "
        "check() and status warn before it passes")

    @field_validator("invoice_series", "credit_note_series")
    @classmethod
    def _usable_series(cls, value: str) -> str:
        try:
            check_format(NumberSeries("xentral", value))
        except NumberFormatError as exc:
            raise ValueError(str(exc)) from None
        if len(format_number(NumberSeries("xentral", value), 999_999, date(2026, 12, 31))) > 64:
            raise ValueError(f"{value!r} gives numbers longer than Xentral's 64 characters")
        return value

    @model_validator(mode="after")
    def _collective_needs_id(self) -> XentralConfig:
        if self.customer == "collective" and not self.collective_customer_id:
            raise ValueError('customer = "collective" needs collective_customer_id (the id of '
                             "the Xentral customer that receives every Amazon document)")
        return self
