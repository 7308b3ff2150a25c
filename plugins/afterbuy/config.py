"""`[plugins.afterbuy]` and `[plugins.afterbuy.columns]`.

The column names below are an ASSUMPTION: no public header list of Afterbuy's
"Rechnungsliste" CSV export exists. They are the documented defaults until a seller's real
export confirms them; every one can be renamed in `[plugins.afterbuy.columns]`.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from syncd.connectors import PluginConfig
from syncd.durations import Duration

REQUIRED_COLUMNS = ("invoice_number", "invoice_date", "gross", "vat_rate")
"""Document fields without which no invoice can be built; the others are used when present."""

DEFAULT_API_URL = "https://api.afterbuy.de/afterbuy/ABInterface.aspx"


class Columns(BaseModel):
    """Document field = header in the CSV. An empty string switches an optional column off."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    invoice_number: str = "Rechnungsnummer"
    invoice_date: str = "Rechnungsdatum"
    order_id: str = "Bestellnummer"
    buyer_name: str = "Name"
    buyer_company: str = "Firma"
    buyer_vat_id: str = "USt-IdNr"
    country: str = "Land"
    currency: str = "Währung"
    description: str = "Artikel"
    quantity: str = "Menge"
    net: str = "Netto"
    vat_rate: str = "MwSt-Satz"
    vat: str = "MwSt"
    gross: str = "Brutto"
    paid_date: str = "Bezahlt am"
    payment_method: str = "Zahlart"
    sku: str = ""
    """Optional (off by default): the article number."""
    original_invoice_number: str = ""
    """Optional (off by default): a credit note's original invoice; links the two."""

    @model_validator(mode="after")
    def _required_named(self) -> Columns:
        missing = [name for name in REQUIRED_COLUMNS if not getattr(self, name).strip()]
        if missing:
            raise ValueError(f"columns {', '.join(missing)} are required and cannot be empty")
        return self

    def mapping(self) -> dict[str, str]:
        """Field → header for every column in use, in declaration order."""
        return {name: value for name, value in self.model_dump().items() if value.strip()}


class AfterbuyConfig(PluginConfig):
    """The Afterbuy login (for the PDFs), the CSV dialect and the optional XML API tokens."""

    username: str | None = None
    password: SecretStr | None = None
    login_url: str | None = None
    pdf_url: str | None = Field(default=None, description="Contains {invoice_number}")
    pdf_folder: Path | None = Field(
        default=None, description="PDFs named <invoice number>.pdf; relative to the config file"
    )
    delimiter: Literal["auto", ";", ",", "\t"] = "auto"
    decimal: Literal["auto", ",", "."] = "auto"
    date_format: str = "auto"
    credit_note_pattern: str | None = Field(
        default=None, description="Regular expression: invoice numbers that are credit notes"
    )
    default_currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    default_country: str = Field(default="DE", pattern=r"^[A-Z]{2}$")
    request_timeout: Duration = Field(default="60s")  # type: ignore[assignment]
    rate_limit: int = Field(default=4, ge=1, le=100, description=(
        "Requests per second to Afterbuy (web and API together, per account): Afterbuy "
        "publishes no limit, so syncd stays polite"))
    partner_token: SecretStr | None = None
    account_token: SecretStr | None = None
    api_url: str = DEFAULT_API_URL
    api_since: date | None = Field(
        default=None, description="First XML API poll: orders modified since (default 30 days)"
    )
    api_page_size: int = Field(default=250, ge=1, le=250)
    columns: Columns = Columns()

    @field_validator("pdf_url")
    @classmethod
    def _placeholder(cls, value: str | None) -> str | None:
        if value is not None and "{invoice_number}" not in value:
            raise ValueError("pdf_url must contain {invoice_number}")
        return value

    @field_validator("credit_note_pattern")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from exc
        return value

    @field_validator("date_format")
    @classmethod
    def _strftime(cls, value: str) -> str:
        if value != "auto" and "%" not in value:
            raise ValueError("date_format is 'auto' or a strftime format such as '%d.%m.%Y'")
        return value

    @model_validator(mode="after")
    def _together(self) -> AfterbuyConfig:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        if self.username is not None and not (self.login_url and self.pdf_url):
            raise ValueError("a login (username, password) needs login_url and pdf_url")
        if (self.partner_token is None) != (self.account_token is None):
            raise ValueError("partner_token and account_token go together (XML API)")
        return self

    @property
    def api_enabled(self) -> bool:
        return self.partner_token is not None and self.account_token is not None
