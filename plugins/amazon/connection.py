"""What the Amazon source and target share: the SP-API client (they keep no state: the
engine's store has it)."""

from __future__ import annotations

from typing import Any

from syncd.connectors import ConnectorContext
from syncd.log import get_logger
from syncd_amazon.config import AmazonConfig
from syncd_amazon.spapi import SpApiClient


class AmazonConnection:
    """Mixed into AmazonSource and AmazonTarget (before their syncd base class)."""

    config: AmazonConfig

    def __init__(self, config: AmazonConfig, context: ConnectorContext,
                 client: SpApiClient | None = None) -> None:
        super().__init__(config, context)  # type: ignore[call-arg]
        self.client = client or SpApiClient(config, http=context.http)
        self.log: Any = context.logger or get_logger(type(self).__module__)

    def check(self) -> None:
        """Credentials (LWA) and the Tax Invoicing role, with one cheap getReport."""
        self.client.verify_access()

    def close(self) -> None:
        self.client.close()
