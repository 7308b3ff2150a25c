"""`syncd run [--once]`: the daemon. Also the helpers the engine commands share."""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager

import click

from syncd.cli.context import CliContext
from syncd.config import Config
from syncd.engine import Engine
from syncd.engine.memory import tune_collector
from syncd.store import Store


def default_actor() -> str:
    """Who acts: the OS user, unless --actor says otherwise (recorded in the event log)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


actor_option = click.option(
    "--actor", default=default_actor, show_default="OS user",
    help="Name recorded in the event log for this action.",
)


@contextmanager
def opened_store(obj: CliContext, read_only: bool = False) -> Iterator[tuple[Config, Store]]:
    """See CliContext.open_store: read-only commands never create a database."""
    with obj.open_store(read_only=read_only) as opened:
        yield opened


def make_engine(obj: CliContext, config: Config, store: Store) -> Engine:
    """The engine on the CLI's plugin host, narrowed to what the config enables (and the
    process's collector tuned for moving documents)."""
    engine = Engine(config, store, host=obj.plugins.activate(config.enabled_plugins))
    if obj.own_process:  # the console command, not a CliRunner inside another program
        tune_collector()
    return engine


@click.command("run")
@click.option("--once", is_flag=True, help="Run every enabled pipeline once, then exit "
              "(exit status 1 when a delivery is in error).")
@click.option("--web", "with_web", is_flag=True,
              help="Also serve the dashboard from this process ([web] host and port).")
@click.pass_context
def run_command(ctx: click.Context, once: bool, with_web: bool) -> None:
    """Run the enabled pipelines on their schedules until SIGTERM/SIGINT."""
    from syncd import daemon

    with opened_store(ctx.obj) as (config, store):
        engine = make_engine(ctx.obj, config, store)
        dashboard = None
        if with_web:
            from syncd.web.server import WebThread

            dashboard = WebThread(config, store, engine.host, attached=True).start()
        try:
            code = daemon.run(engine, once=once)
        finally:
            if dashboard is not None:
                dashboard.stop()
    ctx.exit(code)
