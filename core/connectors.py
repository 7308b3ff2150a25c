"""The connector contract: small and explicit, in the manner of Airbyte's check / discover / read.

Sources read documents since a cursor; the engine owns and stores the cursor (and acknowledges
each committed batch with `Source.committed`), so a connector never persists state of its own.
Targets deliver one `Job` (a numbered document with its links, attachments and per-pipeline
options) in ordered *steps*; the engine commits each step's result as soon as it succeeds and
asks the target to look a step up before repeating one that may have reached the remote. Both
are constructed by the engine with their validated plugin config and a `ConnectorContext`
(`syncd.context`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, ConfigDict

from syncd.context import Company, ConnectorContext
from syncd.errors import DeliveryError, PermanentError, TransientError
from syncd.jobs import Job, RemoteRef, StepResult
from syncd.model import Attachment, Document, DocumentKind

__all__ = ["Company", "ConnectorContext", "Job", "RemoteRef", "StepResult"]  # the contract

Cursor = Mapping[str, Any]
"""Opaque, JSON-serialisable source position. The engine stores it; the source interprets it."""


class PluginConfig(BaseModel):
    """Base of every `[plugins.<name>]` section: unknown keys are errors, secrets are SecretStr.

    A second account of the same system is a named connection,
    `[plugins.<name>.connections.<conn>]`, whose keys override the plugin section's; pipelines
    name it as `"<endpoint>@<conn>"` (e.g. `targets = ["lexoffice@shop-b"]`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    enabled: bool = False


class TargetOptions(BaseModel):
    """Base of a target's per-pipeline options, `[pipelines.options.<endpoint>]` in the TOML.

    A target declares its model as `options_model`; `syncd config check` validates each
    pipeline's table with it and reports problems with their TOML path.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


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
    `remote_ref` names the upload judged: a verdict about an older upload never changes a
    delivery whose current remote reference differs (or that is in flight). A remote that
    names no upload (Amazon's VIDR) gives `observed_at`, when its report was taken: a verdict
    observed before the delivery's last upload finished may judge an older one, and is
    ignored the same way.
    """

    source_key: str
    target: str
    accepted: bool
    message: str | None = None
    code: str | None = None
    remote_ref: str | None = None
    observed_at: datetime | None = None


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
        """Yield batches of items since `cursor`, or of the reload `window` when given.

        Pushed input (`syncd import`, the dashboard's upload) is read from
        `self.context.inbox.items(after=…)`; keep the last inbox id in the cursor.
        """

    def committed(self, cursor: Cursor | None) -> None:
        """The engine has durably committed the batch that ended with `cursor`."""

    def fetch_attachment(self, document: Document, attachment: Attachment) -> bytes:
        """Download an attachment given by `url` (run by the engine as its own retried step).

        Raise TransientError (network, 5xx) or PermanentError ("no PDF for invoice 10045");
        the document then waits in `error` with the reason and a reset fetches again.
        """
        raise PermanentError(f"{type(self).__name__} cannot fetch {attachment.url!r}: "
                             "fetch_attachment is not implemented")

    def discover(self) -> Catalog:
        return Catalog(kinds=frozenset(DocumentKind), max_window=self.max_window)


class Target(Connector):
    """Delivers documents to a remote system, one `Job` at a time, in ordered steps.

    A one-call target implements `deliver` and `find_existing`; the default single step
    `"deliver"` calls them. A multi-call target (voucher, file, payment) overrides `steps`,
    `run_step` and `find_step`. The engine commits every step's `StepResult` as soon as it
    returns, so a crash after step 1 never repeats step 1; a step that may have reached the
    remote is looked up with `find_step` before it runs again.
    """

    options_model: ClassVar[type[TargetOptions] | None] = None
    """Per-pipeline options (`[pipelines.options.<endpoint>]`), handed over as `Job.options`."""

    updates_in_place: ClassVar[bool] = False
    """True when sending a changed document again updates the remote copy (no duplicate):
    revisions of `done` documents are then re-sent automatically instead of waiting in
    `revised` for the operator."""

    def steps(self, document: Document) -> Sequence[str]:
        """The ordered step names for `document`, e.g. ("voucher", "file", "paid")."""
        return ("deliver",)

    def run_step(self, step: str, job: Job) -> StepResult:
        """Perform one step; `job.steps` holds the results of the steps before it."""
        if step != "deliver":
            raise TypeError(f"{type(self).__name__} declares step {step!r} but does not "
                            "override run_step")
        ref = self.deliver(job.document)
        return StepResult(ref.ref, dict(ref.detail))

    def find_step(self, step: str, job: Job) -> StepResult | None:
        """Idempotency lookup for one step: its remote result if an earlier attempt landed.

        The default looks the first step up with `find_existing` and returns None for later
        steps (they run again, so make them safe to repeat or override this).
        """
        if step != self.steps(job.document)[0]:
            return None
        ref = self.find_existing(job.document)
        return None if ref is None else StepResult(ref.ref, dict(ref.detail))

    def deliver(self, document: Document) -> RemoteRef:
        """Single-step targets: send one document; raise TransientError or PermanentError."""
        raise TypeError(f"{type(self).__name__} implements neither deliver nor run_step")

    @abstractmethod
    def find_existing(self, document: Document) -> RemoteRef | None:
        """The remote's copy of `document` if an earlier attempt landed (also before resends)."""

    def validate(self, document: Document) -> None:
        """Raise PermanentError for a document this target can never accept.

        Called before the engine spends a number on the document, so that no number is
        allocated to an invoice that is never issued.
        """

    def prepare(self, jobs: Sequence[Job]) -> None:
        """Batch hook: called with every job of a claimed batch before the first step runs.

        Render the batch's PDFs the fast way (`renderer.render_many`) or prefetch lookups
        (one list request per page of documents); keep results only for this batch.
        """

    def number_series(self, document: Document) -> NumberSeries | None:
        """The series the engine numbers `document` from; None: this target needs no number.

        The engine asks a pipeline's targets in order; the first series wins and the number
        belongs to the document, so every target of every pipeline receives the same number.
        Documents that arrive numbered keep their number.
        """
        return None

    def classify(self, error: BaseException) -> DeliveryError:
        """Map any exception from a step or lookup onto transient or permanent."""
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
