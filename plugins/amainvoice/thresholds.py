"""`syncd amainvoice thresholds [--pipeline P] [--json]`: the latest `.tax` data.

The source fetches `.tax` (EU delivery-threshold countries and the VAT numbers registered
there) once a day and keeps it in its cursor, which the engine stores; this command reads it
back from the state store, so it shows exactly what the last committed cycle saw.
"""

from __future__ import annotations

import json
from typing import Any

import click


def collect(config: Any, store: Any, pipeline: str | None) -> list[dict[str, Any]]:
    """One entry per Amainvoice pipeline: its `.tax` snapshot (or None when not fetched)."""
    out = []
    for settings in config.settings.pipelines:
        if settings.source.split("@")[0] != "amainvoice":
            continue
        if pipeline and settings.name != pipeline:
            continue
        cursor = store.cursor(settings.name, settings.source) or {}
        out.append({"pipeline": settings.name, "source": settings.source,
                    "tax": cursor.get("tax")})
    if pipeline and not out:
        raise click.ClickException(f"no Amainvoice pipeline named {pipeline!r}")
    return out


@click.group("amainvoice")
def amainvoice_group() -> None:
    """Amainvoice tools."""


@amainvoice_group.command("thresholds")
@click.option("--pipeline", help="Only this pipeline (default: every Amainvoice pipeline).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def thresholds_command(obj: Any, pipeline: str | None, as_json: bool) -> None:
    """EU delivery-threshold countries and VAT numbers from Amainvoice's daily `.tax`."""
    from rich.console import Console
    from rich.table import Table

    from syncd.cli.run import opened_store

    with opened_store(obj) as (config, store):
        found = collect(config, store, pipeline)
    if as_json:
        click.echo(json.dumps(found, indent=2, ensure_ascii=False))
        return
    if not found:
        click.echo("no Amainvoice pipeline in this config")
        return
    console = Console(width=None if Console().is_terminal else 120)
    for entry in found:
        tax = entry["tax"]
        if not tax:
            console.print(f"{entry['pipeline']}: no .tax data yet (fetched once a day by "
                          "`syncd run`)")
            continue
        table = Table(title=f"{entry['pipeline']}: .tax of {tax['day']} "
                            f"(fetched {tax['fetched_at']})")
        for column in ("list", "country", "VAT number", "threshold country", "since"):
            table.add_column(column)
        for row in tax["countries"]:
            table.add_row(row["list"], row["country"], row["vat_number"] or "",
                          "yes" if row["threshold_country"] else "no", row["since"] or "")
        console.print(table)
