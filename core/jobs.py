"""What a target is handed for one delivery: the `Job`, with its links, attachments and steps.

A `Job` is a plain frozen value built by the engine from the state store, so a connector's
tests can build one by hand (`syncd.testing.make_job`) and call `run_step` directly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from syncd.model import AttachmentRole, Document, LinkKind


@dataclass(frozen=True)
class RemoteRef:
    """Where a delivered document lives on the remote (an id, a feed id, a URL)."""

    ref: str
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StepResult:
    """What one step produced; committed by the engine the moment the step returns.

    `ref` is the remote id the step created (the first step's `ref` is the delivery's remote
    reference); `detail` is small JSON-serialisable data later steps or lookups need.
    """

    ref: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredAttachment:
    """An attachment in the engine's content-addressed store; `read()` returns its bytes."""

    filename: str
    media_type: str
    role: AttachmentRole
    sha256: str
    size: int
    read: Callable[[], bytes] = field(repr=False, compare=False)


@dataclass(frozen=True)
class LinkedDocument:
    """A document this one links to, as the job's target knows it."""

    kind: LinkKind
    source_key: str
    number: str | None
    issue_date: date | None
    remote: RemoteRef | None
    """The linked document's remote reference at this job's target; None when not there."""
    steps: Mapping[str, StepResult] = field(default_factory=dict)


@dataclass(frozen=True)
class Job:
    """One delivery of one (numbered) document to one target endpoint."""

    document: Document
    pipeline: str
    target: str
    """The endpoint as the pipeline names it, e.g. "lexoffice" or "lexoffice@shop-b"."""
    options: Any = None
    """The target's validated `options_model` instance for this pipeline, or None."""
    steps: Mapping[str, StepResult] = field(default_factory=dict)
    """Results of the steps already committed for this delivery (in step order)."""
    links: Mapping[LinkKind, LinkedDocument] = field(default_factory=dict)
    attachments: Sequence[StoredAttachment] = ()
    resend: bool = False
    """An operator asked to send a `done` document again."""
    delivery_id: int | None = None
    in_doubt_since: datetime | None = None
    """An earlier attempt may have reached the remote and may have been sending until this
    moment (naive UTC); None when not in doubt. A lookup that can lag behind the remote waits
    from here, not from an earlier step."""

    @property
    def remote(self) -> RemoteRef | None:
        """The first step's remote reference, once that step is done."""
        for result in self.steps.values():
            return RemoteRef(result.ref, dict(result.detail)) if result.ref else None
        return None

    def attachment(self, role: AttachmentRole = AttachmentRole.PDF) -> StoredAttachment | None:
        return next((a for a in self.attachments if a.role is role), None)

    def with_step(self, name: str, result: StepResult) -> Job:
        """The same job after step `name` succeeded (the engine does this between steps)."""
        from dataclasses import replace

        return replace(self, steps={**self.steps, name: result})
