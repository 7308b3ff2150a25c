"""What the engine lends a connector: typed services, no untyped grab-bags.

Everything a connector may need from syncd lives here with a precise type: where its files
go, who the seller is, its logger, the renderer, the shared HTTP client factory, the
pipeline's inbox of pushed files, a target's deliveries still open and the seller's time zone.
Connectors keep no state of their own: cursors, steps, attachments and remote ids are the
engine's, and what a connector needs to know of them it reads here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

from syncd.model import Document, Seller

if TYPE_CHECKING:
    import structlog

    from syncd.http import HttpClients
    from syncd.render import Renderer


@dataclass(frozen=True)
class Company:
    """The seller as configured in `[company]`, handed to connectors that render documents."""

    seller: Seller
    logo: str | None = None
    timezone: str = "Europe/Berlin"


@dataclass(frozen=True)
class InboxItem:
    """One pushed file (`syncd import`, the dashboard's upload), stored durably by the engine."""

    id: int
    """Increasing per store: keep the last one read in the source cursor."""
    pipeline: str
    filename: str
    media_type: str
    sha256: str
    size: int
    received_at: datetime
    actor: str | None


class Inbox(Protocol):
    """The pushed files of one pipeline, oldest first."""

    def items(self, after: int | None = None) -> Iterator[InboxItem]:
        """Items with an id greater than `after` (all when None)."""
        ...

    def read(self, item: InboxItem) -> bytes:
        """The file's bytes."""
        ...


@dataclass(frozen=True)
class OpenDelivery:
    """A delivery of the pipeline to the target that is not `done` (nor `revised`) yet."""

    source_key: str
    state: str
    """waiting | processing | error | manual"""
    document: Document


class Deliveries(Protocol):
    """A target's deliveries in its pipeline, read-only, as every worker's store has them
    (e.g. Amazon's upload-deadline warnings: the invoices not uploaded yet)."""

    def open(self) -> Iterator[OpenDelivery]:
        """The deliveries not done yet, oldest first."""
        ...


@dataclass
class ConnectorContext:
    """Built per pipeline and endpoint by `syncd.engine.runtime.build_connector`."""

    plugin: str
    """The plugin that registered the connector, e.g. "lexoffice"."""
    data_dir: Path
    """A writable folder reserved for this plugin (archives, caches that may be deleted)."""
    endpoint: str = ""
    """The name the pipeline uses, e.g. "lexoffice" or "lexoffice@shop-b" (a connection)."""
    pipeline: str = ""
    logger: structlog.stdlib.BoundLogger | None = None
    company: Company | None = None
    renderer: Renderer | None = None
    """The pipeline's PDF / e-invoice renderer (language, e-invoice mode, templates)."""
    http: HttpClients | None = None
    """The shared HTTP client factory: retries, timeouts, rate limits, secret-safe logs."""
    inbox: Inbox | None = None
    """Pushed files for this pipeline (sources only)."""
    deliveries: Deliveries | None = None
    """This target's open deliveries in this pipeline (targets only)."""
    base_dir: Path | None = None
    """The folder of syncd.toml: relative paths in a plugin's config resolve against it."""

    def __post_init__(self) -> None:
        if not self.endpoint:
            self.endpoint = self.plugin
        if self.logger is None:
            from syncd.log import get_logger

            self.logger = get_logger(f"syncd.{self.plugin}")

    def path(self, value: str | Path) -> Path:
        """A path from the plugin's config: relative ones are relative to syncd.toml's folder
        (the process's working directory when the context was built without a config)."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else (self.base_dir or Path.cwd()) / path

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.company.timezone if self.company else "Europe/Berlin")

    def today(self) -> date:
        """The seller's calendar day, not the machine's."""
        return datetime.now(self.timezone).date()
