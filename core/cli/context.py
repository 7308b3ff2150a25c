"""State shared by the CLI commands: the config path, the plugin host, the loaded config,
and opening the state database the way an operator needs it.

Read-only commands never create a database: a missing SQLite file is an error saying what
creates it. Any database failure names the database (`file is not a database`, `unable to
open database file`, `database is locked`), and a command waiting for another process's lock
on a SQLite file says so on stderr instead of hanging silently for up to 60 s.
"""

from __future__ import annotations

import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from syncd import log as syncd_log
from syncd.config import Config, load_config
from syncd.errors import SyncdError
from syncd.plugins import PluginHost, load_plugins

LOCK_NOTICE_AFTER = 2.0
"""Seconds a statement may wait before the CLI says that the database is locked."""

HINTS = {
    "file is not a database": "it is not a SQLite state database; check [state] url",
    "unable to open database file": "check that the path is a file in a writable folder",
    "database is locked": "another syncd process kept it locked for 60 s; try again when it "
                          "has finished (`syncd run` holds it only briefly per batch)",
}


class DatabaseError(SyncdError):
    """A state database problem, naming the database."""


def describe(url: str) -> tuple[str, Path | None]:
    """What to call the database in messages, and its file when it is SQLite."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database).resolve()
        return str(path), path
    return parsed.render_as_string(hide_password=True), None


@contextmanager
def database_errors(url: str) -> Iterator[None]:
    """Turn driver errors into one line naming the database (inside: the whole command)."""
    import sqlalchemy.exc

    name, _path = describe(url)
    try:
        yield
    except sqlalchemy.exc.DBAPIError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        hint = next((h for key, h in HINTS.items() if key in reason), "")
        raise DatabaseError(f"state database {name}: {reason}" + (f" ({hint})" if hint else "")
                            ) from exc


class LockWatch:
    """Says on stderr when a SQLite statement waits for another process's write lock."""

    def __init__(self, path: Path, stream: Any = None, after: float = LOCK_NOTICE_AFTER) -> None:
        self.path, self.after = path, after
        self.stream = stream or sys.stderr
        self.started: dict[int, float] = {}
        self.told = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True, name="lock-watch")

    def before(self, conn: Any, *_args: Any) -> None:
        self.started[id(conn)] = time.monotonic()

    def after_execute(self, conn: Any, *_args: Any) -> None:
        self.started.pop(id(conn), None)

    def error(self, context: Any) -> None:
        self.started.pop(id(context.connection), None)

    def locked(self) -> bool:
        """Whether another connection holds the write lock right now."""
        try:
            probe = sqlite3.connect(self.path, timeout=0, isolation_level=None)
        except sqlite3.Error:
            return False
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError as exc:
            return "locked" in str(exc)
        finally:
            probe.close()

    def _watch(self) -> None:
        while not self._stop.wait(0.25):
            waiting = [t for t in list(self.started.values())
                       if time.monotonic() - t >= self.after]
            if waiting and not self.told and self.locked():
                self.told = True
                print(f"waiting for the lock on {self.path}: another process is writing to "
                      "this state database (giving up after 60 s)", file=self.stream,
                      flush=True)

    def __enter__(self) -> LockWatch:
        import sqlalchemy as sa

        sa.event.listen(sa.Engine, "before_cursor_execute", self.before)
        sa.event.listen(sa.Engine, "after_cursor_execute", self.after_execute)
        sa.event.listen(sa.Engine, "handle_error", self.error)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        import sqlalchemy as sa

        self._stop.set()
        sa.event.remove(sa.Engine, "before_cursor_execute", self.before)
        sa.event.remove(sa.Engine, "after_cursor_execute", self.after_execute)
        sa.event.remove(sa.Engine, "handle_error", self.error)
        self._thread.join(timeout=1)


@dataclass
class CliContext:
    config_path: Path | None
    debug: bool = False
    log_format: str = "auto"
    host: PluginHost | None = None
    own_process: bool = False
    """True under the console entry point: process-wide settings (the collector) may change."""
    _config: Config | None = field(default=None, repr=False)

    @property
    def plugins(self) -> PluginHost:
        if self.host is None:
            self.host = load_plugins()
        return self.host

    def config(self) -> Config:
        """Load and validate once; raises ConfigError listing every problem."""
        if self._config is None:
            self._config = load_config(self.config_path, self.plugins.registry)
            syncd_log.configure(
                fmt=self.log_format,  # type: ignore[arg-type]
                level="DEBUG" if self.debug else "INFO",
                secrets=self._config.secrets(),
            )
        return self._config

    @contextmanager
    def open_store(self, read_only: bool = False) -> Iterator[tuple[Config, Any]]:
        """The config and its opened store, for the length of one command.

        `read_only`: the command only looks (status, documents list/show, events), so a
        SQLite file that does not exist yet is an error instead of a new empty database.
        """
        from contextlib import ExitStack

        from syncd.store import Store

        config = self.config()
        url = config.database_url
        name, path = describe(url)
        if read_only and path is not None and not path.exists():
            raise DatabaseError(f"state database {name} does not exist yet: nothing has run "
                                "with this config (`syncd run --once` creates it)")
        with ExitStack() as stack:
            stack.enter_context(database_errors(url))
            if path is not None:
                stack.enter_context(LockWatch(path))
            try:
                store = Store.open(url)
            except OSError as exc:
                raise DatabaseError(f"state database {name}: {exc.strerror or exc}") from exc
            stack.callback(store.close)
            yield config, store
