"""What the Amazon source and target share: the SP-API client and the plugin's own store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from syncd.connectors import ConnectorContext
from syncd.log import get_logger
from syncd_amazon.config import AmazonConfig
from syncd_amazon.spapi import SpApiClient
from syncd_amazon.store import PluginStore


class AmazonConnection:
    """Mixed into AmazonSource and AmazonTarget (before their syncd base class)."""

    config: AmazonConfig

    def __init__(self, config: AmazonConfig, context: ConnectorContext,
                 client: SpApiClient | None = None) -> None:
        super().__init__(config, context)  # type: ignore[call-arg]
        self.client = client or SpApiClient(config, http=context.http)
        # source and target share one file, so both see the latest VIDR statuses and uploads
        self.store = PluginStore(Path(context.data_dir))
        self.log: Any = context.logger or get_logger(type(self).__module__)

    def check(self) -> None:
        """Credentials (LWA) and the Tax Invoicing role, with one cheap getReport."""
        self.client.verify_access()

    def close(self) -> None:
        self.client.close()
        self.store.close()
