"""Every hook a syncd plugin can implement. Hooks only register objects; the objects do the work.

Lifecycle (see docs/plugins.md): syncd loads the `syncd.plugins` entry points, then calls
`register_config_models` to validate `[plugins.<name>]`, `register_sources` and
`register_targets` to build pipelines, `register_renderers` when a document needs a PDF or
e-invoice, `register_sandboxes` for `syncd sandbox` and tests, `register_demos` for
`syncd demo`, and `register_commands` when the CLI starts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
import pluggy

hookspec = pluggy.HookspecMarker("syncd")


@hookspec
def register_config_models(register: Callable[[str, type], None]) -> None:
    """Register the pydantic model for your `[plugins.<name>]` section: register(name, Model)."""


@hookspec
def register_sources(register: Callable[[type], None]) -> None:
    """Register Source classes that read documents from a remote: register(SourceClass)."""


@hookspec
def register_targets(register: Callable[[type], None]) -> None:
    """Register Target classes that deliver documents to a remote: register(TargetClass)."""


@hookspec
def register_renderers(register: Callable[[type], None]) -> None:
    """Register Renderer classes that turn a document into a PDF or XML: register(Renderer)."""


@hookspec
def register_sandboxes(register: Callable[[str, Any], None]) -> None:
    """Register a local emulator of a remote system: register(name, EmulatorClass)."""


@hookspec
def register_demos(register: Callable[[type], None]) -> None:
    """Register `syncd.demo.DemoPart` classes that `syncd demo` runs: register(DemoPart)."""


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add subcommands to the `syncd` command-line group."""
