"""Read-only commands never create a database; database problems name the database; a lock
wait is announced (issue 8: 23, 24)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from syncd.cli import cli
from syncd.cli.context import CliContext, DatabaseError
from syncd.plugins import load_plugins

GOOD = """
[plugins.amazon]
enabled = true
client_id = "amzn1.application-oa2-client.test"
client_secret = "cs-topsecret-1"
refresh_token = "Atzr|refresh-topsecret-2"
marketplace_ids = ["A1PA6795UKMFR9"]

[[pipelines]]
name = "amazon-invoices"
source = "amazon"
targets = ["amazon"]
"""

READ_ONLY = [("status",), ("documents", "list"), ("documents", "show", "1"), ("events",),
             ("config", "show"), ("config", "check"), ("plugins", "list")]


def syncd(*args, cwd, **kwargs):
    env = {k: v for k, v in os.environ.items() if k != "SYNCD_CONFIG"}
    return subprocess.run([sys.executable, "-m", "syncd", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, **kwargs)


def invoke(tmp_path, *args):
    """In-process, as `syncd -c tmp_path/syncd.toml ARGS`; main() prints errors as one line."""
    context = CliContext(config_path=None)
    context.host = load_plugins()
    return CliRunner().invoke(cli, ["-c", str(tmp_path / "syncd.toml"), *args], obj=context)


@pytest.mark.parametrize("args", READ_ONLY, ids=" ".join)
def test_read_only_commands_never_create_a_database(tmp_path, args):
    (tmp_path / "syncd.toml").write_text(GOOD)
    result = invoke(tmp_path, *args)
    assert not list(tmp_path.glob("syncd.db*")), result.output
    if args[0] in ("status", "documents", "events"):
        assert isinstance(result.exception, DatabaseError)
        assert str(result.exception) == (
            f"state database {tmp_path / 'syncd.db'} does not exist yet: nothing has run "
            "with this config (`syncd run --once` creates it)")
    else:
        assert result.exit_code == 0, result.output


def test_not_a_database_names_the_file(tmp_path):
    (tmp_path / "syncd.toml").write_text(GOOD)
    (tmp_path / "syncd.db").write_bytes(b"this is a spreadsheet, honestly\n" * 200)
    result = invoke(tmp_path, "documents", "list")
    assert isinstance(result.exception, DatabaseError)
    assert str(result.exception).startswith(
        f"state database {tmp_path / 'syncd.db'}: file is not a database (it is not a SQLite")


def test_unable_to_open_names_the_file(tmp_path):
    (tmp_path / "adir").mkdir()
    (tmp_path / "syncd.toml").write_text(GOOD + f'\n[state]\nurl = "sqlite:///{tmp_path}/adir"\n')
    result = invoke(tmp_path, "documents", "reset", "1")
    assert isinstance(result.exception, DatabaseError)
    assert str(result.exception).startswith(
        f"state database {tmp_path / 'adir'}: unable to open database file")


def test_database_errors_print_as_one_line(tmp_path):
    (tmp_path / "syncd.toml").write_text(GOOD)
    (tmp_path / "syncd.db").write_bytes(b"garbage" * 500)
    out = syncd("events", cwd=tmp_path)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert out.stderr.startswith(f"error: state database {tmp_path / 'syncd.db'}: file is not")


def test_a_command_waiting_on_a_lock_says_so(tmp_path):
    (tmp_path / "syncd.toml").write_text(GOOD)
    created = syncd("documents", "reset", "1", cwd=tmp_path)  # creates and migrates the db
    assert (tmp_path / "syncd.db").exists(), created.stderr
    holder = sqlite3.connect(tmp_path / "syncd.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    env = {k: v for k, v in os.environ.items() if k != "SYNCD_CONFIG"}
    proc = subprocess.Popen([sys.executable, "-m", "syncd", "documents", "list", "--json"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()  # blocks until the CLI says something
        assert line.startswith(f"waiting for the lock on {tmp_path / 'syncd.db'}: another "
                               "process is writing"), line
    finally:
        time.sleep(0.2)
        holder.execute("ROLLBACK")
        holder.close()
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert stdout.strip() == "[]"


def test_a_lock_that_outlasts_the_timeout_names_the_file(tmp_path):
    import sqlalchemy.exc

    from syncd.cli.context import database_errors

    url = f"sqlite:///{tmp_path / 'syncd.db'}"
    with pytest.raises(DatabaseError) as err, database_errors(url):
        raise sqlalchemy.exc.OperationalError("BEGIN IMMEDIATE", {},
                                              sqlite3.OperationalError("database is locked"))
    assert str(err.value).startswith(
        f"state database {tmp_path / 'syncd.db'}: database is locked (another syncd process")
    masked = r"state database postgresql\+psycopg://u:\*\*\*@db"
    with pytest.raises(DatabaseError, match=masked), database_errors(
            "postgresql+psycopg://u:pw-1@db/x"):
        raise sqlalchemy.exc.OperationalError("SELECT 1", {}, OSError("connection refused"))
