"""Shared setup for the spine v2 tests: an engine on the testing plugin against the sink."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from syncd.engine import Engine
from syncd.store import Store

FAST = {"backoff_base": "10ms", "backoff_max": "50ms", "max_attempts": 3}


@pytest.fixture
def spine(make_syncd_config, document_sink, syncd_plugin) -> Iterator[Callable[..., Any]]:
    """spine(pipelines=[...], engine={...}, **plugin) -> (engine, config, store)."""
    made: list[Engine] = []

    def make(pipelines: list[dict] | None = None, engine: dict | None = None,
             state_url: str | None = None, **plugin: Any) -> tuple[Engine, Any, Store]:
        config = make_syncd_config(plugin={"sink_url": document_sink.url, **plugin},
                                   engine={**FAST, **(engine or {})}, pipelines=pipelines,
                                   state_url=state_url)
        store = Store.open(config.database_url)
        eng = Engine(config, store, extra_plugins=[syncd_plugin])
        made.append(eng)
        return eng, config, store

    yield make
    for eng in made:
        eng.close()
        eng.store.close()


def two_targets(**extra: Any) -> list[dict]:
    return [{"name": "demo", "source": "synthetic", "targets": ["sink", "steps-sink"], **extra}]


def run_cli(config_path: Any, *args: str) -> Any:
    """The `syncd` command group in-process, with the testing plugin; a click Result."""
    from click.testing import CliRunner

    from syncd.cli import cli
    from syncd.cli.context import CliContext
    from syncd.plugins import load_plugins
    from syncd.testing.plugin import PLUGIN

    context = CliContext(config_path=None)
    context.host = load_plugins(only=set(), extra=[PLUGIN])
    return CliRunner().invoke(cli, ["-c", str(config_path), *args], obj=context)
