"""`syncd events`: the event log (pulls, deliveries, errors, manual actions and who did them)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click

from syncd.cli.run import opened_store
from syncd.durations import parse_duration
from syncd.errors import InputError


def parse_since(text: str) -> datetime:
    """An ISO date/time (UTC) or a duration ago ("2h", "3d")."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            return datetime.now(UTC).replace(tzinfo=None) - parse_duration(text)
        except ValueError:
            raise InputError("--since", f"{text!r} is neither an ISO date/time such as "
                             "2026-05-01T08:00 nor a duration such as 2h") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


@click.command("events")
@click.option("--pipeline", "-p")
@click.option("--since", help="ISO date/time (UTC) or a duration ago, e.g. 2h.")
@click.option("--document", "document_id", type=int, help="Only this document's events.")
@click.option("--limit", default=200, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def events_command(obj: Any, pipeline: str | None, since: str | None,
                   document_id: int | None, limit: int, as_json: bool) -> None:
    """The newest events, oldest first."""
    moment = parse_since(since) if since else None
    with opened_store(obj, read_only=True) as (_config, store):
        rows = store.events(pipeline=pipeline, since=moment, limit=limit,
                            document_id=document_id)
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    from syncd.cli.tables import Column, render

    render([Column("at (UTC)", no_wrap=True, drop=1), Column("pipeline", drop=3),
            Column("kind", no_wrap=True), Column("source key", drop=2),
            Column("by", drop=4), Column("message")],
           [(f"{e['at']}", e["pipeline"] or "-", e["kind"], e["source_key"] or "-",
             e["actor"] or "-", e["message"] or "") for e in rows])
