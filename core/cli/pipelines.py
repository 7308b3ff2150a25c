"""`syncd pipelines pause|resume|run NAME`: switches a running daemon honours within seconds.

They live in the state store, so they reach every worker: pause pulls and delivers nothing
(a delivery in flight finishes), resume carries on from the stored cursor, run pulls now.
"""

from __future__ import annotations

from typing import Any

import click

from syncd.cli.inbox import known_pipeline
from syncd.cli.run import actor_option, opened_store


@click.group("pipelines")
def pipelines_group() -> None:
    """Pause, resume or run a pipeline now (the dashboard's switch does the same)."""


@pipelines_group.command("pause")
@click.argument("name")
@actor_option
@click.pass_obj
def pause_command(obj: Any, name: str, actor: str) -> None:
    """Stop pulling and delivering NAME until `resume`."""
    with opened_store(obj) as (config, store):
        known_pipeline(config, name)
        store.pause(name, actor)
    click.echo(f"{name}: paused (a running syncd stops within seconds; resume continues from "
               "the stored cursor)")


@pipelines_group.command("resume")
@click.argument("name")
@actor_option
@click.pass_obj
def resume_command(obj: Any, name: str, actor: str) -> None:
    """Pull and deliver NAME again, from where it stopped."""
    with opened_store(obj) as (config, store):
        known_pipeline(config, name)
        store.resume(name, actor)
    click.echo(f"{name}: resumed")


@pipelines_group.command("run")
@click.argument("name")
@actor_option
@click.pass_obj
def run_now_command(obj: Any, name: str, actor: str) -> None:
    """Ask the running syncd to pull and deliver NAME now instead of at its schedule."""
    with opened_store(obj) as (config, store):
        known_pipeline(config, name)
        store.request_run(name, actor)
        paused = store.is_paused(name)
    click.echo(f"{name}: run requested; a running `syncd run` starts it within seconds"
               + (" (but it is paused: `syncd pipelines resume " + name + "`)" if paused
                  else ""))
