"""Entry point of the Afterbuy plugin: registers what it offers with syncd."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from syncd import hookimpl
from syncd_afterbuy.config import AfterbuyConfig


@hookimpl
def register_config_models(register: Callable[[str, type], None]) -> None:
    register("afterbuy", AfterbuyConfig)


@hookimpl
def register_sources(register: Callable[[type], None]) -> None:
    from syncd_afterbuy.source import AfterbuySource

    register(AfterbuySource)


@hookimpl
def register_sandboxes(register: Callable[[str, Any], None]) -> None:
    from syncd_afterbuy.sandbox import AfterbuyEmulator

    register("afterbuy", AfterbuyEmulator)


@hookimpl
def register_demos(register: Callable[[type], None]) -> None:
    from syncd_afterbuy.demo import AfterbuyDemo

    register(AfterbuyDemo)


@hookimpl
def register_commands(cli: click.Group) -> None:
    from syncd_afterbuy.cli import afterbuy_group

    cli.add_command(afterbuy_group)
