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
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
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
from syncd.model import CENT, Document, DocumentKind, Line, build_document

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


def synthetic_document(index: int, config: TestingConfig | None = None) -> Document:
    """A small valid invoice; the same index always gives the same content."""
    config = config or TestingConfig()
    net = Decimal(10) + Decimal(index % 1000) * CENT
    vat = (net * Decimal("0.19")).quantize(CENT)
    extra = {"variant": config.variant} if config.variant else {}
    return build_document(
        kind=DocumentKind.INVOICE,
        source="synthetic",
        source_key=f"doc-{index:06d}",
        currency="EUR",
        order_date=config.start + timedelta(days=index % config.days),
        lines=[Line(description=f"Item {index}", net=net, vat_rate=Decimal("0.19"), vat=vat,
                    gross=net + vat)],
        extra=extra,
    )


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
        items: list[Any] = [synthetic_document(index, cfg)]
        if key in cfg.verdict_reject_keys:
            items.append(Verdict(key, "sink", accepted=False, message="test: remote rejected",
                                 code="R1"))
        return items

    def read(self, cursor: Cursor | None, window: Window | None = None) -> Iterator[Batch]:
        cfg: TestingConfig = self.config  # type: ignore[assignment]
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

    @property
    def max_window(self) -> timedelta | None:  # type: ignore[override]
        days = self.config.max_window_days  # type: ignore[attr-defined]
        return timedelta(days=days) if days else None


class _Numbered(Target):
    def number_series(self, document: Document) -> NumberSeries | None:
        cfg: TestingConfig = self.config  # type: ignore[assignment]
        return NumberSeries(cfg.series, cfg.number_format) if cfg.numbering else None


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
    register(NoopTarget)


PLUGIN: tuple[str, object] = (NAME, sys.modules[__name__])
"""Pass to ``load_plugins(extra=[PLUGIN])``."""
