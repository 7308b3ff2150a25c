"""The connector contract: small and explicit, in the manner of Airbyte's check / discover / read.

Sources read documents since a cursor; the engine owns and stores the cursor, so a connector
never persists state of its own. Targets deliver one document and can look up whether an earlier
attempt already reached the remote. Both are constructed by the engine with their validated
plugin config and a `ConnectorContext`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, ConfigDict

from syncd.errors import DeliveryError, PermanentError, TransientError
from syncd.model import Document, DocumentKind

Cursor = Mapping[str, Any]
"""Opaque, JSON-serialisable source position. The engine stores it; the source interprets it."""


class PluginConfig(BaseModel):
    """Base of every `[plugins.<name>]` section: unknown keys are errors, secrets are SecretStr."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    enabled: bool = False


@dataclass(frozen=True)
class Company:
    """The seller as configured in `[company]`, handed to connectors that render documents."""

    seller: Any  # syncd.model.Seller; Any keeps this module free of config imports
    logo: str | None = None


@dataclass
class ConnectorContext:
    """What the engine lends a connector: where to put files, who the seller is, its logger."""

    plugin: str
    data_dir: Any  # pathlib.Path of a writable folder reserved for this plugin
    company: Company | None = None
    settings: Any = None  # the whole syncd.config.Settings, for connectors that need more
    logger: Any = None
    renderer: Any = None  # syncd.render.Renderer for PDFs, chosen per pipeline by the engine
    services: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Window:
    """A half-open date range [start, end) for reloads."""

    start: date
    end: date

    def split(self, size: timedelta) -> list[Window]:
        out, cur = [], self.start
        while cur < self.end:
            nxt = min(cur + size, self.end)
            out.append(Window(cur, nxt))
            cur = nxt
        return out


@dataclass(frozen=True)
class Rejected:
    """Source data that could not become a Document; it waits in `error` for an operator."""

    source_key: str
    error: str
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    """The remote's later word on an earlier delivery (e.g. Amazon's next VIDR).

    `accepted=False` moves the delivery of `source_key` to `target` into `error` with `message`.
    """

    source_key: str
    target: str
    accepted: bool
    message: str | None = None
    code: str | None = None


@dataclass(frozen=True)
class Skipped:
    """Source data deliberately not turned into a document, recorded with the reason."""

    source_key: str
    reason: str


ReadItem = Document | Rejected | Verdict | Skipped


@dataclass(frozen=True)
class Batch:
    """Items plus the cursor that follows them; the engine commits both in one transaction."""

    items: list[ReadItem]
    cursor: Cursor | None


@dataclass(frozen=True)
class Catalog:
    """What `discover()` reports: the document kinds a connector handles and its limits."""

    kinds: frozenset[DocumentKind]
    max_window: timedelta | None = None
    notes: str = ""


@dataclass(frozen=True)
class RemoteRef:
    """Where a delivered document lives on the remote (an id, a feed id, a URL)."""

    ref: str
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NumberSeries:
    """A gapless number series, e.g. name 'amazon-invoice', format 'INV-{year}-{seq:06d}'."""

    name: str
    format: str
    yearly_reset: bool = True


class Connector(ABC):
    name: ClassVar[str]
    config_model: ClassVar[type[PluginConfig]] = PluginConfig

    def __init__(self, config: PluginConfig, context: ConnectorContext) -> None:
        self.config = config
        self.context = context

    def check(self) -> None:  # noqa: B027 - optional override, default is "nothing to check"
        """Raise a SyncdError when the remote cannot be reached or the credentials are wrong."""

    @abstractmethod
    def discover(self) -> Catalog:
        """Describe what this connector moves."""

    def close(self) -> None:  # noqa: B027 - optional override
        """Release clients and files."""


class Source(Connector):
    """Reads documents from a remote system."""

    max_window: ClassVar[timedelta | None] = None
    """Longest date range one reload request may cover; None means unlimited."""

    @abstractmethod
    def read(self, cursor: Cursor | None, window: Window | None = None) -> Iterator[Batch]:
        """Yield batches of items since `cursor`, or of the reload `window` when given."""

    def discover(self) -> Catalog:
        return Catalog(kinds=frozenset(DocumentKind), max_window=self.max_window)


class Target(Connector):
    """Delivers documents to a remote system."""

    @abstractmethod
    def deliver(self, document: Document) -> RemoteRef:
        """Send one document; raise TransientError or PermanentError on failure."""

    @abstractmethod
    def find_existing(self, document: Document) -> RemoteRef | None:
        """Idempotency lookup: the remote's copy of `document` if an earlier attempt landed."""

    def number_series(self, document: Document) -> NumberSeries | None:
        """The series the engine numbers `document` from before delivery; None: no numbering."""
        return None

    def classify(self, error: BaseException) -> DeliveryError:
        """Map any exception from deliver/find_existing onto transient or permanent."""
        return classify_error(error)

    def discover(self) -> Catalog:
        return Catalog(kinds=frozenset(DocumentKind))


RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


def retry_after_seconds(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header (delta or HTTP date); None when absent or unreadable."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(when.tzinfo)).total_seconds())


def classify_error(error: BaseException) -> DeliveryError:
    """The default split: HTTP 408/425/429/5xx, timeouts and connection errors are transient."""
    if isinstance(error, DeliveryError):
        return error
    if isinstance(error, httpx.HTTPStatusError):
        response = error.response
        message = f"HTTP {response.status_code} from {error.request.url}: {response.text[:500]}"
        if response.status_code in RETRYABLE_STATUS:
            return TransientError(
                message, code=str(response.status_code), retry_after=retry_after_seconds(response)
            )
        return PermanentError(message, code=str(response.status_code))
    if isinstance(error, httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError):
        return TransientError(f"{type(error).__name__}: {error}")
    if isinstance(error, ConnectionError | TimeoutError):
        return TransientError(f"{type(error).__name__}: {error}")
    return PermanentError(f"{type(error).__name__}: {error}")
