"""The values the store hands out and takes back: pull statistics, claims, outcomes, pages."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Generic, TypeVar

from syncd.errors import SyncdError
from syncd.jobs import LinkedDocument, StepResult, StoredAttachment
from syncd.model import Attachment, Document, LinkKind

STATES = ("waiting", "processing", "done", "error", "manual", "revised")
CHUNK = 500


def utcnow() -> datetime:
    """Naive UTC, the only kind of time the store keeps."""
    return datetime.now(UTC).replace(tzinfo=None)


class NotFound(SyncdError):
    """An operator named a document the store does not know."""


@dataclass
class IngestStats:
    new: int = 0
    unchanged: int = 0
    revised: int = 0
    rejected: int = 0
    skipped: int = 0
    verdicts: int = 0

    def add(self, other: IngestStats) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def documents(self) -> int:
        return self.new + self.unchanged + self.revised + self.rejected


@dataclass
class Claimed:
    """A leased delivery with its (numbered) document, committed steps, links, attachments."""

    delivery_id: int
    document_id: int
    pipeline: str
    target: str
    document: Document
    revision: int
    attempts: int
    in_doubt: bool
    resend: bool
    number: str | None
    steps: dict[str, StepResult] = field(default_factory=dict)
    links: dict[LinkKind, LinkedDocument] = field(default_factory=dict)
    attachments: list[StoredAttachment] = field(default_factory=list)
    to_fetch: list[Attachment] = field(default_factory=list)
    """url attachments not fetched yet: the engine fetches them before the first step."""
    validated: bool = False
    """The pipeline's targets validated the document in this claim (before numbering it)."""
    in_doubt_since: datetime | None = None
    """In doubt: the latest moment an earlier attempt may still have been sending (the end of
    that attempt, or of a dead worker's lease); None when not in doubt or not known."""


@dataclass
class Outcome:
    """What one attempt ended in; `finish()` writes a list of these in one transaction."""

    claimed: Claimed
    state: str  # waiting | done | error
    action: str  # deliver | lookup | fetch
    result: str  # done | found | transient | permanent | refused
    started_at: datetime
    finished_at: datetime
    next_attempt_at: datetime | None = None
    in_doubt: bool = False
    remote_ref: str | None = None
    remote_detail: dict[str, Any] | None = None
    error_class: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    step: str | None = None
    last_step: tuple[str, int, Any] | None = None
    """(name, position, StepResult) of the final step: committed with the outcome."""


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a keyset-paginated query; pass `next_key` as `after_key` for the next."""

    items: list[T]
    next_key: int | None

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> T:
        return self.items[index]


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    pipeline: str
    target: str
    state: str
    attempts: int
    step: str | None
    remote_ref: str | None
    error_message: str | None
    waiting_for: str | None


@dataclass(frozen=True)
class DocumentRow:
    """A document as lists show it: its overall state is the worst of its deliveries'."""

    id: int
    pipeline: str
    source: str
    source_key: str
    kind: str | None
    number: str | None
    issue_date: date | None
    revision: int
    state: str
    error: str | None
    updated_at: datetime
    deliveries: tuple[DeliveryRow, ...]

    @property
    def numbers(self) -> list[str]:
        return [self.number] if self.number else []

    @property
    def targets(self) -> dict[str, str]:
        return {d.target: d.state for d in self.deliveries}

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of `documents list --json`."""
        return {"id": self.id, "pipeline": self.pipeline, "source_key": self.source_key,
                "kind": self.kind, "revision": self.revision, "state": self.state,
                "number": self.number, "numbers": self.numbers, "error": self.error,
                "targets": self.targets,
                "steps": {d.target: d.step for d in self.deliveries if d.step},
                "waiting_for": {d.target: d.waiting_for for d in self.deliveries
                                if d.waiting_for},
                "updated_at": self.updated_at.isoformat(timespec="seconds")}

    def __getitem__(self, key: str) -> Any:
        """Mapping-style access (`row["id"]`) for callers written against the dict rows."""
        return self.as_dict()[key]


@dataclass(frozen=True)
class EventRow:
    id: int
    at: datetime
    pipeline: str | None
    kind: str
    document_id: int | None
    delivery_id: int | None
    source_key: str | None
    actor: str | None
    message: str | None
    data: Any


@dataclass(frozen=True)
class DayCount:
    """Deliveries that reached `done` / `error` on one UTC day."""

    day: date
    done: int
    error: int


def overall_state(status: str, states: list[str] | tuple[str, ...]) -> str:
    if status == "rejected":
        return "error"
    if status == "repull":
        return "waiting"
    if status == "manual":
        return "manual"
    for state in ("error", "revised", "processing", "waiting", "manual"):
        if state in states:
            return "waiting" if state == "processing" else state
    return "done" if states else "waiting"
