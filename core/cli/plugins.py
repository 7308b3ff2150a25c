"""`syncd plugins list`: what is installed, from which distribution, offering what."""

from __future__ import annotations

import json

import click

from syncd.cli.context import CliContext
from syncd.cli.tables import Column, render


@click.group("plugins")
def plugins_group() -> None:
    """Inspect installed plugins."""


@plugins_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def list_plugins(obj: CliContext, as_json: bool) -> None:
    """Name, version, distribution and capabilities of every installed plugin."""
    host = obj.plugins
    rows = [
        {
            "name": info.name,
            "version": info.version,
            "distribution": info.distribution,
            "module": info.module,
            "capabilities": host.registry.capabilities(info.name),
        }
        for info in host.plugins.values()
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    render([Column("name", no_wrap=True), Column("version", no_wrap=True, drop=1),
            Column("distribution", drop=2), Column("capabilities")],
           [(row["name"], row["version"], row["distribution"], ", ".join(row["capabilities"]))
            for row in rows])
