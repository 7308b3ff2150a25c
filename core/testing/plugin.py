"""An in-process plugin for tests and benchmarks: a synthetic source, a sink target, a no-op.

Register it with ``load_plugins(extra=[PLUGIN])`` and enable it with ``[plugins.testing]``::

    [plugins.testing]
    enabled = true
    count = 100
    sink_url = "http://127.0.0.1:PORT"

    [[pipelines]]
    name = "demo"
    source = "synthetic"
    targets = ["sink"]

Targets: "sink" (one step, HTTP PUT), "steps-sink" (steps "create" and "attach", links to a
credit note's invoice), "noop" (in memory, benchmarks).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
from pydantic import Field

from syncd import hookimpl
from syncd.connectors import (
    Batch,
    Cursor,
    NumberSeries,
    PluginConfig,
    Rejected,
    RemoteRef,
    Skipped,
    Source,
    Target,
    Verdict,
    Window,
)
from syncd.errors import PermanentError, TransientError
from syncd.jobs import Job, StepResult
from syncd.model import (
    CENT,
    Attachment,
    AttachmentRole,
    Document,
    DocumentKind,
    Line,
    Link,
    LinkKind,
    build_document,
)

NAME = "testing"


class TestingConfig(PluginConfig):
    """`[plugins.testing]`: how many synthetic documents, where the sink listens."""

    __test__ = False  # not a pytest test class

    count: int = Field(default=10, ge=0)
    batch: int = Field(default=50, ge=1)
    start: date = date(2026, 1, 1)
    days: int = Field(default=30, ge=1, description="order dates cycle over this many days")
    variant: str = Field(default="", description="changes every document's content")
    reject_keys: list[str] = Field(default_factory=list)
    skip_keys: list[str] = Field(default_factory=list)
    verdict_reject_keys: list[str] = Field(default_factory=list)
    max_window_days: int | None = None
    sink_url: str | None = None
    timeout: float = 5.0
    numbering: bool = True
    series: str = "testing"
    number_format: str = "INV-{year}-{seq:06d}"
    credit_keys: list[str] = Field(
        default_factory=list, description="these become credit notes linked to the previous key")
    attach: str = Field(default="none", pattern="^(none|inline|url)$",
                        description="every document carries a PDF: inline bytes or a url")
    fetch_fail_keys: list[str] = Field(default_factory=list,
                                       description="fetch_attachment refuses these")
    refuse_keys: list[str] = Field(default_factory=list,
                                   description="the targets' validate() refuses these")
    pull_error: str = Field(default="", description="read() fails with this message")


def synthetic_document(index: int, config: TestingConfig | None = None) -> Document:
    """A small valid invoice; the same index always gives the same content."""
    config = config or TestingConfig()
    net = Decimal(10) + Decimal(index % 1000) * CENT
    vat = (net * Decimal("0.19")).quantize(CENT)
    extra = {"variant": config.variant} if config.variant else {}
    key = f"doc-{index:06d}"
    credit = key in config.credit_keys
    links = (Link(kind=LinkKind.INVOICE, source_key=f"doc-{index - 1:06d}"),) if credit else ()
    attachments: tuple[Attachment, ...] = ()
    if config.attach == "inline":
        attachments = (Attachment(filename=f"{key}.pdf", media_type="application/pdf",
                                  data=pdf_bytes(key)),)
    elif config.attach == "url":
        attachments = (Attachment(filename=f"{key}.pdf", media_type="application/pdf",
                                  url=f"https://files.example/{key}.pdf"),)
    return build_document(
        kind=DocumentKind.CREDIT_NOTE if credit else DocumentKind.INVOICE,
        source="synthetic",
        source_key=key,
        links=links,
        attachments=attachments,
        currency="EUR",
        order_date=config.start + timedelta(days=index % config.days),
        lines=[Line(description=f"Item {index}", net=net, vat_rate=Decimal("0.19"), vat=vat,
                    gross=net + vat)],
        extra=extra,
    )


def pdf_bytes(key: str) -> bytes:
    """A tiny stand-in for a document's PDF (content differs per document)."""
    return b"%PDF-1.4\n% syncd test document " + key.encode() + b"\n%%EOF\n"


class SyntheticSource(Source):
    """Yields `count` deterministic documents; cursor = how many were read."""

    name: ClassVar[str] = "synthetic"
    config_model = TestingConfig

    def _items(self, index: int) -> list[Any]:
        cfg: TestingConfig = self.config  # type: ignore[assignment]
        key = f"doc-{index:06d}"
        if key in cfg.skip_keys:
            return [Skipped(key, "test: told to skip")]
        if key in cfg.reject_keys:
            return [Rejected(key, "test: told to reject", {"index": index})]
        return [synthetic_document(index, cfg)]

    def read(self, cursor: Cursor | None, window: Window | None = None) -> Iterator[Batch]:
        cfg: TestingConfig = self.config  # type: ignore[assignment]
        if cfg.pull_error:
            raise TransientError(f"synthetic source: {cfg.pull_error}")
        if window is not None:
            items = []
            for i in range(cfg.count):
                if window.start <= cfg.start + timedelta(days=i % cfg.days) < window.end:
                    items.extend(self._items(i))
                    if len(items) >= cfg.batch:
                        yield Batch(items, None)
                        items = []
            if items:
                yield Batch(items, None)
            return
        offset = int((cursor or {}).get("offset", 0))
        while offset < cfg.count:
            end = min(offset + cfg.batch, cfg.count)
            items = [item for i in range(offset, end) for item in self._items(i)]
            yield Batch(items, {"offset": end})
            offset = end
        if cfg.verdict_reject_keys and not (cursor or {}).get("verdicts") and cursor:
            # the remote's later word on what an earlier run delivered (Amazon's VIDR)
            yield Batch([Verdict(key, "sink", accepted=False, message="test: remote rejected",
                                 code="R1") for key in cfg.verdict_reject_keys],
                        {"offset": offset, "verdicts": 1})

    def fetch_attachment(self, document: Document, attachment: Attachment) -> bytes:
        cfg: TestingConfig = self.config  # type: ignore[assignment]
        if document.source_key in cfg.fetch_fail_keys:
            raise PermanentError(f"no PDF for {document.source_key} at {attachment.url}")
        self.fetched.append(document.source_key)
        return pdf_bytes(document.source_key)

    def committed(self, cursor: Cursor | None) -> None:
        self.acknowledged.append(cursor)

    def __init__(self, config: PluginConfig, context: Any) -> None:
        super().__init__(config, context)
        self.fetched: list[str] = []
        self.acknowledged: list[Cursor | None] = []

    @property
    def max_window(self) -> timedelta | None:  # type: ignore[override]
        days = self.config.max_window_days  # type: ignore[attr-defined]
        return timedelta(days=days) if days else None


class _Numbered(Target):
    def number_series(self, document: Document) -> NumberSeries | None:
        cfg: TestingConfig = self.config  # type: ignore[assignment]
        return NumberSeries(cfg.series, cfg.number_format) if cfg.numbering else None

    def validate(self, document: Document) -> None:
        if document.source_key in self.config.refuse_keys:  # type: ignore[attr-defined]
            raise PermanentError(f"{self.name} refuses {document.source_key}: test: invalid")


class SinkTarget(_Numbered):
    """Delivers to `syncd.testing.sink.DocumentSink` over HTTP."""

    name: ClassVar[str] = "sink"
    config_model = TestingConfig

    def __init__(self, config: PluginConfig, context: Any) -> None:
        super().__init__(config, context)
        cfg: TestingConfig = config  # type: ignore[assignment]
        if not cfg.sink_url:
            from syncd.errors import ConfigError

            raise ConfigError(["plugins.testing.sink_url: required by the sink target"])
        self.client = httpx.Client(base_url=cfg.sink_url, timeout=cfg.timeout)

    def _path(self, document: Document) -> str:
        return "/documents/" + quote(document.identity, safe="")

    def deliver(self, document: Document) -> RemoteRef:
        response = self.client.put(
            self._path(document),
            content=document.model_dump_json(),
            headers={"Idempotency-Key": document.identity, "Content-Type": "application/json"},
        )
        response.raise_for_status()
        return RemoteRef(response.json()["id"])

    def find_existing(self, document: Document) -> RemoteRef | None:
        response = self.client.get(self._path(document))
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return RemoteRef(response.json()["id"])

    def status_warnings(self) -> list[str]:
        return []

    def close(self) -> None:
        self.client.close()


class StepSinkTarget(SinkTarget):
    """Two steps at the sink: "create" the document, then "attach" its PDF.

    A credit note's create carries the sink id of its invoice (from `Job.links`); `prepare`
    records each batch, so tests can check the engine's batch hook.
    """

    name: ClassVar[str] = "steps-sink"

    def __init__(self, config: PluginConfig, context: Any) -> None:
        super().__init__(config, context)
        self.prepared: list[int] = []

    def _path(self, document: Document) -> str:
        """Its own namespace at the sink, so that "sink" and "steps-sink" can share one."""
        return "/documents/" + quote(f"steps:{document.identity}", safe="")

    def steps(self, document: Document) -> tuple[str, ...]:
        return ("create", "attach")

    def prepare(self, jobs: Sequence[Job]) -> None:
        self.prepared.append(len(jobs))

    def run_step(self, step: str, job: Job) -> StepResult:
        document = job.document
        if step == "create":
            body = json.loads(document.model_dump_json())
            invoice = job.links.get(LinkKind.INVOICE)
            if invoice is not None:
                if invoice.remote is None:
                    raise PermanentError(f"{document.identity}: invoice not at the sink")
                body["invoice_ref"] = invoice.remote.ref
                body["invoice_number"] = invoice.number
            response = self.client.put(self._path(document), json=body,
                                       headers={"Idempotency-Key": f"steps:{document.identity}"})
            response.raise_for_status()
            return StepResult(response.json()["id"])
        if step == "attach":
            stored = job.attachment(AttachmentRole.PDF)
            data = stored.read() if stored else f"rendered {document.number}".encode()
            name = stored.filename if stored else "document.pdf"
            response = self.client.put(f"{self._path(document)}/files/{quote(name, safe='')}",
                                       content=data)
            response.raise_for_status()
            return StepResult(response.json()["id"], {"size": len(data)})
        raise TypeError(f"unknown step {step!r}")

    def find_step(self, step: str, job: Job) -> StepResult | None:
        if step == "create":
            ref = self.find_existing(job.document)
            return StepResult(ref.ref) if ref else None
        response = self.client.get(f"{self._path(job.document)}/files")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        files = response.json()
        return StepResult(files[0]["id"]) if files else None


class NoopTarget(_Numbered):
    """Accepts everything instantly (benchmarks); remembers what this instance got."""

    name: ClassVar[str] = "noop"
    config_model = TestingConfig

    def __init__(self, config: PluginConfig, context: Any) -> None:
        super().__init__(config, context)
        self.delivered: dict[str, str] = {}

    def deliver(self, document: Document) -> RemoteRef:
        ref = f"noop-{document.identity}"
        self.delivered[document.identity] = document.number or ""
        return RemoteRef(ref)

    def find_existing(self, document: Document) -> RemoteRef | None:
        return RemoteRef(f"noop-{document.identity}") if document.identity in self.delivered \
            else None


@hookimpl
def register_config_models(register: Callable[[str, type], None]) -> None:
    register(NAME, TestingConfig)


@hookimpl
def register_sources(register: Callable[[type], None]) -> None:
    register(SyntheticSource)


@hookimpl
def register_targets(register: Callable[[type], None]) -> None:
    register(SinkTarget)
    register(StepSinkTarget)
    register(NoopTarget)


PLUGIN: tuple[str, object] = (NAME, sys.modules[__name__])
"""Pass to ``load_plugins(extra=[PLUGIN])``."""
