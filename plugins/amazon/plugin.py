"""Entry point of the Amazon plugin: registers what it offers with syncd."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from syncd import hookimpl
from syncd_amazon.config import AmazonConfig


@hookimpl
def register_config_models(register: Callable[[str, type], None]) -> None:
    register("amazon", AmazonConfig)


@hookimpl
def register_sources(register: Callable[[type], None]) -> None:
    from syncd_amazon.source import AmazonSource

    register(AmazonSource)


@hookimpl
def register_targets(register: Callable[[type], None]) -> None:
    from syncd_amazon.target import AmazonTarget

    register(AmazonTarget)


@hookimpl
def register_sandboxes(register: Callable[[str, Any], None]) -> None:
    from syncd_amazon.sandbox import AmazonEmulator

    register("amazon", AmazonEmulator)


@hookimpl
def register_commands(cli: click.Group) -> None:
    """`syncd sandbox amazon` when the core has a `sandbox` group, else `syncd amazon-sandbox`."""
    from syncd_amazon.sandbox.cli import command

    group = cli.commands.get("sandbox")
    if isinstance(group, click.Group):
        if "amazon" not in group.commands:
            group.add_command(command, "amazon")
    elif group is None and "amazon-sandbox" not in cli.commands:
        cli.add_command(command, "amazon-sandbox")
