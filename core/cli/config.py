"""`syncd config check` and `syncd config show`."""

from __future__ import annotations

import json

import click
import tomli_w

from syncd.cli.context import CliContext


@click.group("config")
def config_group() -> None:
    """Validate and inspect the configuration."""


@config_group.command("check")
@click.pass_obj
def check(obj: CliContext) -> None:
    """Report every problem with its TOML path; exit 2 when there is any."""
    cfg = obj.config()
    pipelines = len(cfg.settings.pipelines)
    plugins = ", ".join(sorted(cfg.enabled_plugins)) or "none"
    conns = [f"{p}@{c}" for p, named in sorted(cfg.connections.items()) for c in sorted(named)]
    extra = f"; connections: {', '.join(conns)}" if conns else ""
    click.echo(f"{cfg.path}: OK ({pipelines} pipeline(s); enabled plugins: {plugins}{extra})")


@config_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of TOML.")
@click.pass_obj
def show(obj: CliContext, as_json: bool) -> None:
    """Print the effective config (file plus environment) with every secret masked."""
    data = obj.config().redacted()
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True))
    else:
        click.echo(tomli_w.dumps(data), nl=False)
