"""`[plugins.amainvoice]`: where the data comes from, since when, and how hard to push."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, SecretStr, model_validator

from syncd.connectors import PluginConfig
from syncd.durations import Duration


def _as_text(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class AmainvoiceConfig(PluginConfig):
    """The issue's keys plus a few optional tuning knobs with safe defaults."""

    transport: Literal["http", "folder"] = "http"
    endpoint: str | None = Field(default=None, description="The form-POST endpoint (http)")
    customer_number: Annotated[str | None, BeforeValidator(_as_text)] = Field(
        default=None, description="Sent as firm_key_id (a TOML number is fine)")
    auth_token: SecretStr | None = Field(default=None, description="Sent as client_identifier")
    folder: Path | None = Field(default=None, description="Folder of YYYY-MM-DD.inv/.rem/.tax")
    start_date: date = Field(description="Rechnungen abholen ab: nothing before it is fetched")
    lookback: Duration = timedelta(days=7)
    orders: bool = False

    concurrency: int = Field(default=4, ge=1, le=32,
                             description="Day requests in flight at once (at most)")
    requests_per_second: float = Field(default=2.0, gt=0,
                                       description="Client-side pacing before the remote says "
                                                   "'Throttel is On'")
    pdf_requests_per_second: float = Field(default=10.0, gt=0,
                                           description="Pace of documentlink PDF downloads")
    time_budget: Duration = timedelta(minutes=10)
    throttle_pause: Duration = timedelta(seconds=2)
    throttle_pause_max: Duration = timedelta(seconds=60)
    timeout: Duration = timedelta(seconds=60)
    attempts: int = Field(default=5, ge=1, description="Tries per day on network errors / 5xx")

    @model_validator(mode="after")
    def _transport_keys(self) -> AmainvoiceConfig:
        missing: list[str] = []
        if self.transport == "http":
            missing = [key for key in ("endpoint", "customer_number", "auth_token")
                       if getattr(self, key) in (None, "")]
        elif self.folder is None:
            missing = ["folder"]
        if missing:
            raise ValueError(f"transport = {self.transport!r} needs "
                             + ", ".join(missing))
        if self.lookback < timedelta(0) or self.lookback > timedelta(days=62):
            raise ValueError("lookback must be between 0d and 62d")
        return self
