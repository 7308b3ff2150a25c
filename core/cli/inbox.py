"""`syncd import PIPELINE FILE…`: push files into a pipeline's inbox (durable, deduplicated).

The dashboard's upload page calls the same function, `import_files`. The pipeline's source
reads the items after its cursor on its next run (`syncd pipelines run NAME` for right now).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from syncd.cli.run import actor_option, opened_store
from syncd.config import Config
from syncd.errors import SyncdError
from syncd.store import Store


def known_pipeline(config: Config, name: str) -> None:
    names = [p.name for p in config.settings.pipelines]
    if name not in names:
        raise SyncdError(f"no pipeline named {name!r} in {config.path} "
                         f"(pipelines: {', '.join(names) or 'none'})")


def import_files(store: Store, pipeline: str, files: list[tuple[str, bytes]],
                 actor: str) -> list[str]:
    """Store each (filename, bytes) in the inbox; one line per file saying what happened."""
    lines = []
    for name, data in files:
        item, created = store.inbox_add(pipeline, name, data, actor)
        if created:
            lines.append(f"{name}: inbox item {item.id} for {pipeline} ({item.size} bytes)")
        else:
            lines.append(f"{name}: already in the inbox of {pipeline} as item {item.id} "
                         f"({item.filename}, {item.received_at:%Y-%m-%d %H:%M} UTC); not added")
    return lines


@click.command("import")
@click.argument("pipeline")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@actor_option
@click.pass_obj
def import_command(obj: Any, pipeline: str, files: tuple[Path, ...], actor: str) -> None:
    """Push FILEs into PIPELINE's inbox; the same file twice is stored once."""
    with opened_store(obj) as (config, store):
        known_pipeline(config, pipeline)
        for line in import_files(store, pipeline, [(f.name, f.read_bytes()) for f in files],
                                 actor):
            click.echo(line)
