"""`syncd plugins list`: what is installed, from which distribution, offering what."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

from syncd.cli.context import CliContext


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
    table = Table("name", "version", "distribution", "capabilities")
    for row in rows:
        table.add_row(row["name"], row["version"], row["distribution"],
                      ", ".join(row["capabilities"]))
    Console().print(table)
