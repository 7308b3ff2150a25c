"""`syncd reload PIPELINE --from DATE --to DATE`: re-read a date range, resumably."""

from __future__ import annotations

import sys
from datetime import date
from typing import Any

import click

from syncd.cli.run import actor_option, make_engine, opened_store
from syncd.connectors import Window
from syncd.log import get_logger


class RichProgress:
    """Two bars in a terminal: windows read and documents seen."""

    def __init__(self) -> None:
        from rich.progress import Progress

        self.progress = Progress(transient=False)
        self.windows_task: Any = None
        self.docs_task: Any = None

    def start(self, windows: int, done: int) -> None:
        self.progress.start()
        self.windows_task = self.progress.add_task("windows", total=windows, completed=done)
        self.docs_task = self.progress.add_task("documents", total=None)

    def window(self, window: Window) -> None:
        self.progress.advance(self.windows_task)

    def documents(self, count: int) -> None:
        self.progress.advance(self.docs_task, count)

    def close(self) -> None:
        self.progress.stop()


class LogProgress:
    """Structured log lines when not in a terminal."""

    def __init__(self) -> None:
        self.log = get_logger("syncd.reload")
        self.total = self.done = self.docs = 0

    def start(self, windows: int, done: int) -> None:
        self.total, self.done = windows, done
        self.log.info("reload started", windows=windows, already_done=done)

    def window(self, window: Window) -> None:
        self.done += 1
        self.log.info("reload progress", window_start=str(window.start),
                      window_end=str(window.end), windows_done=self.done,
                      windows=self.total, documents=self.docs)

    def documents(self, count: int) -> None:
        self.docs += count

    def close(self) -> None:
        """Nothing to tear down."""


@click.command("reload")
@click.argument("pipeline")
@click.option("--from", "start", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--to", "end", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="Last day, inclusive.")
@actor_option
@click.pass_obj
def reload_command(obj: Any, pipeline: str, start: Any, end: Any, actor: str) -> None:
    """Read PIPELINE's source again for a date range; delivered documents are not resent.

    Interrupt it any time: the same command continues with the first unread window.
    """
    from syncd import daemon

    first: date = start.date()
    last: date = end.date()
    with opened_store(obj) as (config, store):
        settings = config.pipeline(pipeline)
        engine = make_engine(obj, config, store)
        progress = RichProgress() if sys.stderr.isatty() else LogProgress()
        try:
            with daemon.Daemon(engine).signals_stop():
                stats, complete = engine.reload(settings, first, last, actor, progress)
        finally:
            progress.close()
            store.release(engine.owner, in_doubt=True)
            engine.close()
    click.echo(f"reload {pipeline} {first} .. {last}: {stats.new} new, {stats.revised} "
               f"revised, {stats.unchanged} already known, {stats.rejected} rejected"
               + ("" if complete else " (interrupted; run the same command to continue)"))
