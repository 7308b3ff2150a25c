"""`syncd afterbuy columns FILE`: which headers a CSV has and which mapping would be used."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from syncd.errors import InputError

if TYPE_CHECKING:
    from syncd_afterbuy.config import AfterbuyConfig


@click.group("afterbuy")
def afterbuy_group() -> None:
    """Afterbuy helpers."""


@afterbuy_group.command("columns")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def columns_command(ctx: click.Context, file: Path) -> None:
    """Print the headers FILE has and the column mapping syncd would use for it."""
    from syncd_afterbuy.config import REQUIRED_COLUMNS
    from syncd_afterbuy.csvfile import CsvFile

    config = _config(ctx)
    mapping = config.columns.mapping()
    try:
        csvfile = CsvFile.parse(file.read_bytes(), file.name, mapping, config.delimiter)
    except InputError as exc:
        raise click.ClickException(str(exc)) from None
    match = csvfile.describe(mapping)
    shown = {"\t": "tab"}.get(csvfile.delimiter, csvfile.delimiter)
    click.echo(f"{file.name}: encoding {csvfile.encoding}, delimiter {shown!r}, "
               f"{len(csvfile.headers)} columns")
    if csvfile.encoding_note:
        click.echo(f"note: {csvfile.encoding_note}")
    click.echo("headers found:")
    used = set(match.index.values())
    for i, header in enumerate(csvfile.headers):
        click.echo(f"  {i + 1:>3}  {header}{'' if i in used else '   (ignored)'}")
    click.echo("mapping ([plugins.afterbuy.columns], field = header):")
    for name, header in mapping.items():
        if name in match.index:
            state = f"column {match.index[name] + 1}"
        elif name in match.duplicates:
            state = f"AMBIGUOUS: {len(match.duplicates[name])} columns"
        else:
            state = "MISSING (required)" if name in REQUIRED_COLUMNS else "absent (optional)"
        click.echo(f"  {name:<24} = {header!r:<22} {state}")
    problems = [n for n in REQUIRED_COLUMNS if n not in match.index] + list(match.duplicates)
    if problems:
        raise click.ClickException(f"{file.name} cannot be read with this mapping: "
                                   f"{', '.join(problems)}")


def _config(ctx: click.Context) -> AfterbuyConfig:
    """`[plugins.afterbuy]` of the config file when there is one, else the documented defaults."""
    from syncd.cli.context import CliContext
    from syncd.config import resolve_path
    from syncd_afterbuy.config import AfterbuyConfig

    obj = ctx.find_object(CliContext)
    if obj is None or not resolve_path(obj.config_path).is_file():
        click.echo("(no config file: the documented default mapping)")
        return AfterbuyConfig()
    section = obj.config().plugin_configs.get("afterbuy")
    if isinstance(section, AfterbuyConfig):
        return section
    click.echo("(afterbuy is not enabled in the config: the documented default mapping)")
    return AfterbuyConfig()
