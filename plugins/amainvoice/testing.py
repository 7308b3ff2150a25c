"""Helpers for tests and benchmarks: a source on the emulator, draining reads, engine configs."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from syncd.connectors import Cursor, ReadItem, Window
from syncd.context import ConnectorContext
from syncd_amainvoice.config import AmainvoiceConfig
from syncd_amainvoice.sandbox import AmainvoiceEmulator
from syncd_amainvoice.source import AmainvoiceSource

_MADE: list[AmainvoiceSource] = []

FAST = {"throttle_pause": "0.05s", "throttle_pause_max": "0.3s", "requests_per_second": 200,
        "pdf_requests_per_second": 500}


def make_source(home: Path, emulator: AmainvoiceEmulator | None = None,
                **overrides: Any) -> AmainvoiceSource:
    """A source whose config folder is `home`; HTTP to `emulator` unless overridden."""
    values = {**(emulator.config_values() if emulator else {}), **FAST, **overrides}
    config = AmainvoiceConfig(**values)
    data_dir = home / "data" / "amainvoice"
    source = AmainvoiceSource(config, ConnectorContext(plugin="amainvoice", data_dir=data_dir))
    _MADE.append(source)
    return source


def close_sources() -> None:
    """Close every source `make_source` built (their HTTP connections)."""
    while _MADE:
        _MADE.pop().close()


def drain(source: AmainvoiceSource, cursor: Cursor | None = None,
          window: Window | None = None) -> tuple[list[ReadItem], Cursor | None]:
    """Every item of one read and the last cursor it yielded (None: the read's input)."""
    items: list[ReadItem] = []
    last = cursor
    for batch in source.read(cursor, window):
        items.extend(batch.items)
        if batch.cursor is not None:
            last = batch.cursor
    return items, last


def _value(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, bool) else ("true" if value else "false")


def engine_toml(emulator_values: Mapping[str, Any], *, targets: tuple[str, ...] = ("noop",),
                state_url: str | None = None, name: str = "amainvoice",
                sink_url: str | None = None) -> str:
    """A syncd.toml: the testing plugin (for its targets), Amainvoice, one pipeline."""
    lines = []
    if state_url:
        lines += ["[state]", f"url = {json.dumps(state_url)}", ""]
    lines += ["[engine]", 'backoff_base = "0.05s"', 'backoff_max = "0.2s"', "",
              "[plugins.testing]", "enabled = true", "count = 0"]
    if sink_url:
        lines.append(f"sink_url = {json.dumps(sink_url)}")
    lines += ["",
              "[plugins.amainvoice]"]
    lines += [f"{k} = {_value(v)}" for k, v in {**emulator_values, **FAST}.items()]
    lines += ["", "[[pipelines]]", f"name = {json.dumps(name)}", 'source = "amainvoice"',
              "targets = [" + ", ".join(json.dumps(t) for t in targets) + "]",
              'schedule = "1h"', ""]
    return "\n".join(lines)
