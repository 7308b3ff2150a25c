"""Entry point of the Amainvoice plugin: registers what it offers with syncd."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from syncd import hookimpl
from syncd_amainvoice.config import AmainvoiceConfig


@hookimpl
def register_config_models(register: Callable[[str, type], None]) -> None:
    register("amainvoice", AmainvoiceConfig)


@hookimpl
def register_sources(register: Callable[[type], None]) -> None:
    from syncd_amainvoice.source import AmainvoiceSource

    register(AmainvoiceSource)


@hookimpl
def register_sandboxes(register: Callable[[str, Any], None]) -> None:
    from syncd_amainvoice.sandbox import AmainvoiceEmulator

    register("amainvoice", AmainvoiceEmulator)


@hookimpl
def register_demos(register: Callable[[type], None]) -> None:
    from syncd_amainvoice.demo import AmainvoiceDemo

    register(AmainvoiceDemo)


@hookimpl
def register_commands(cli: click.Group) -> None:
    from syncd_amainvoice.thresholds import amainvoice_group

    cli.add_command(amainvoice_group)
