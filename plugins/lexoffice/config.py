"""`[plugins.lexoffice]` and the per-pipeline options: the key names are public interface."""

from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field, HttpUrl, SecretStr, field_validator, model_validator

from syncd.connectors import NumberSeries, PluginConfig, TargetOptions
from syncd.numbering import NumberFormatError, check_format, format_number

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class LexofficeConfig(PluginConfig):
    base_url: HttpUrl = HttpUrl("https://api.lexware.io")
    """The old api.lexoffice.io gateway stopped working in December 2025."""
    api_key: SecretStr
    requests_per_second: float = Field(default=2.0, gt=0,
                                       description="The API's limit per key, all endpoints")
    contact: Literal["collective", "per-buyer"] = "collective"
    mark_paid: bool = False
    app_url: HttpUrl = HttpUrl("https://app.lexware.de")
    login_email: str | None = None
    login_password: SecretStr | None = None
    payment_method: str = Field(default="personal",
                                description="The web app's payment method code ('personal' "
                                            "is Zahlart Privat)")
    categories_file: Path | None = Field(
        default=None, description="Posting categories used when GET /v1/posting-categories "
        "fails (e.g. the shared specs' posting-categories-sales.json); relative to the config "
        "file")
    request_timeout: float = Field(default=35.0, gt=0,
                                   description="Seconds; the gateway gives up after 30 s")
    invoice_series: str = "RE-{year}-{seq:06d}"
    credit_note_series: str = "GS-{year}-{seq:06d}"

    @field_validator("invoice_series", "credit_note_series")
    @classmethod
    def _usable_series(cls, value: str) -> str:
        try:
            check_format(NumberSeries("lexoffice", value))
            format_number(NumberSeries("lexoffice", value), 1, date(2026, 1, 1))
        except (NumberFormatError, ValueError) as exc:
            raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _login_for_mark_paid(self) -> LexofficeConfig:
        if self.mark_paid and not (self.login_email and self.login_password
                                   and self.login_password.get_secret_value()):
            raise ValueError("mark_paid = true needs login_email and login_password (a web-app "
                             "user with the bookkeeping role; the API key cannot record "
                             "payments)")
        return self

    @property
    def limiter_key(self) -> str:
        """One limiter per API key, shared by every thread and worker using that key."""
        digest = hashlib.sha256(self.api_key.get_secret_value().encode()).hexdigest()
        return "lexoffice:" + digest[:16]


class LexofficeOptions(TargetOptions):
    """`[pipelines.options.lexoffice]`: per-pipeline choices."""

    category: str | None = Field(
        default=None, description="Posting category name or id for every voucher of this "
        "pipeline, instead of the automatic choice")
    remark_prefix: str | None = Field(default=None, description="Text put before the remark")
    attach_einvoice: bool = Field(
        default=True, description="Also attach an e-invoice XML as a second voucher file: the "
        "source's own, else the renderer's when the pipeline's einvoice mode wants one")

    @field_validator("category")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("category must name a posting category or be left out")
        return value
