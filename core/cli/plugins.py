"""`syncd plugins list`: what is installed, from which distribution, offering what."""

from __future__ import annotations

import json

import click

from syncd import PLUGIN_API_VERSION
from syncd.cli.context import CliContext
from syncd.cli.tables import Column, render


@click.group("plugins")
def plugins_group() -> None:
    """Inspect installed plugins."""


@plugins_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def list_plugins(obj: CliContext, as_json: bool) -> None:
    """Name, version, distribution, plugin API and capabilities of every installed plugin."""
    host = obj.plugins
    rows = [
        {
            "name": info.name,
            "version": info.version,
            "distribution": info.distribution,
            "module": info.module,
            "plugin_api": info.api,
            "capabilities": host.registry.capabilities(info.name),
        }
        for info in host.plugins.values()
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    render([Column("name", no_wrap=True), Column("version", no_wrap=True, drop=1),
            Column("distribution", drop=2), Column("API", no_wrap=True, drop=3),
            Column("capabilities")],
           [(row["name"], row["version"], row["distribution"],
             "-" if row["plugin_api"] is None else str(row["plugin_api"]),
             ", ".join(row["capabilities"])) for row in rows])
    click.echo(f"(this syncd offers plugin API {PLUGIN_API_VERSION})")
