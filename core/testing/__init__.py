"""Test helpers for syncd and its plugins, loaded by pytest as the `syncd` plugin (pytest11).

Fixtures (documented in docs/plugins.md, "Testing your plugin"):

- ``make_document``: factory for valid documents, ``make_document("k1", net="10.00")``.
- ``syncd_store``: a migrated SQLite state store in a temporary folder.
- ``document_sink``: a running HTTP document sink (``syncd.testing.sink.DocumentSink``).
- ``syncd_plugin``: the in-process testing plugin, for ``load_plugins(extra=[...])``.
- ``make_syncd_config``: writes a syncd.toml using the testing plugin and loads it.

``syncd.testing.emulator`` is the base for sandbox emulators of remote systems (docs/plugins.md,
"Writing a sandbox emulator"); the sink and every bundled emulator are built on it.

``seller_today()`` is the seller's calendar day, the one the engine numbers and dates
documents by: compare with it, not with the machine's ``date.today()`` (they differ every night
between midnight in Berlin and midnight UTC, and a year apart on New Year's Eve).

Importing this module stays cheap: heavy imports happen inside the fixtures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


def seller_today(timezone: str = "Europe/Berlin") -> Any:
    """Today in the seller's time zone (`[company] timezone`, default Europe/Berlin)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(timezone)).date()


@pytest.fixture
def make_document() -> Callable[..., Any]:
    """Build a valid one-line document; amounts are computed to the cent."""
    from decimal import Decimal

    from syncd.model import CENT, DocumentKind, Line, build_document

    def make(key: str = "doc-1", *, net: str = "10.00", rate: str = "0.19",
             source: str = "test", kind: str = "invoice", **fields: Any) -> Any:
        amount = Decimal(net)
        vat = (amount * Decimal(rate)).quantize(CENT)
        line = Line(description=f"Item {key}", net=amount, vat_rate=Decimal(rate), vat=vat,
                    gross=amount + vat)
        fields.setdefault("currency", "EUR")
        return build_document(kind=DocumentKind(kind), source=source, source_key=key,
                              lines=[line], **fields)

    return make


@pytest.fixture
def syncd_store(tmp_path: Path) -> Iterator[Any]:
    """A fresh, migrated SQLite store (WAL) in the test's temporary folder."""
    from syncd.store import Store

    store = Store.open(f"sqlite:///{tmp_path / 'syncd.db'}")
    yield store
    store.close()


@pytest.fixture
def document_sink() -> Iterator[Any]:
    """A running document sink on 127.0.0.1 (random port); `.url`, `.received()`, faults."""
    from syncd.testing.sink import DocumentSink

    with DocumentSink() as sink:
        yield sink


@pytest.fixture
def syncd_plugin() -> tuple[str, object]:
    """("testing", module): the synthetic source, sink and no-op targets as a plugin."""
    from syncd.testing.plugin import PLUGIN

    return PLUGIN


@pytest.fixture
def make_syncd_config(tmp_path: Path) -> Callable[..., Any]:
    """Write and load a config: make_syncd_config(plugin={...}, pipelines=[...], engine={...})."""
    from syncd.testing.config import write_config

    def make(**options: Any) -> Any:
        return write_config(tmp_path, **options)

    return make
