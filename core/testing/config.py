"""Writing small syncd.toml files for tests and benchmarks that use the testing plugin."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from syncd.config import Config, load_config
from syncd.plugins import load_plugins
from syncd.testing.plugin import PLUGIN


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def _table(name: str, values: dict[str, Any]) -> str:
    lines = [name] + [f"{k} = {_toml_value(v)}" for k, v in values.items() if v is not None]
    return "\n".join(lines) + "\n\n"


def render_config(
    *,
    plugin: dict[str, Any] | None = None,
    pipelines: list[dict[str, Any]] | None = None,
    engine: dict[str, Any] | None = None,
    state_url: str | None = None,
) -> str:
    """TOML text: the testing plugin enabled plus the given pipelines (default: one to sink)."""
    text = ""
    if state_url:
        text += _table("[state]", {"url": state_url})
    if engine:
        text += _table("[engine]", engine)
    text += _table("[plugins.testing]", {"enabled": True, **(plugin or {})})
    for pipe in pipelines or [{"name": "demo", "source": "synthetic", "targets": ["sink"]}]:
        text += _table("[[pipelines]]", pipe)
    return text


def write_config(folder: Path, **options: Any) -> Config:
    """Write `folder/syncd.toml` and load it with the testing plugin registered."""
    path = folder / "syncd.toml"
    path.write_text(render_config(**options))
    return load_config(path, load_plugins(extra=[PLUGIN]).registry)
