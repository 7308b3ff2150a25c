"""`syncd web [--host H] [--port P]` and `syncd web add-user NAME`: the operator dashboard."""

from __future__ import annotations

import json
import os
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

import click

from syncd.cli.run import opened_store
from syncd.errors import SyncdError

USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")


@click.group("web", invoke_without_command=True)
@click.option("--host", help="Address to listen on (default: [web] host, 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535),
              help="Port (default: [web] port, 8080; 0 picks a free one).")
@click.pass_context
def web_group(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Serve the dashboard: lists, actions, uploads, reloads, events (see docs/web.md).

    Listening beyond 127.0.0.1 needs users (`syncd web add-user NAME`); put it behind a
    TLS-terminating proxy and set `[web] secure_cookies = true`.
    """
    if ctx.invoked_subcommand is not None:
        return
    from syncd.web.server import serve

    obj = ctx.obj
    with opened_store(obj) as (config, store):
        serve(config, store, obj.plugins.activate(config.enabled_plugins), host, port)


def user_table(name: str, password_hash: str, role: str) -> str:
    """The TOML lines of one user (the hash is not a password, but keep the file private)."""
    return (f"[web.users.{json.dumps(name)}]\npassword_hash = {json.dumps(password_hash)}\n"
            f"role = {json.dumps(role)}\n")


@web_group.command("add-user")
@click.argument("name")
@click.option("--role", type=click.Choice(["viewer", "operator"]), default="viewer",
              show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@click.option("--print", "print_only", is_flag=True,
              help="Print the TOML lines instead of adding them to the config file.")
@click.pass_obj
def add_user_command(obj: Any, name: str, role: str, password_stdin: bool,
                     print_only: bool) -> None:
    """Add a dashboard user with an argon2 hash of the password to the config."""
    from syncd.config import resolve_path
    from syncd.web.auth import hash_password

    if not USER_NAME.match(name):
        raise click.BadParameter("letters, digits and _ . @ - only", param_hint="NAME")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        raise SyncdError("the password needs at least 8 characters")
    table = user_table(name, hash_password(password), role)
    if print_only:
        click.echo(table, nl=False)
        return
    path = resolve_path(obj.config_path)
    _append_user(path, name, table)
    click.echo(f"{path}: user {name!r} ({role}) added")


def _append_user(path: Path, name: str, table: str) -> None:
    """Append the table when the result is valid TOML naming the user once; else refuse."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SyncdError(f"{path}: file not found (pass -c/--config, or use --print)") from None
    users = tomllib.loads(text).get("web", {}).get("users", {})
    if name in users:
        raise SyncdError(f"{path}: user {name!r} exists; remove its [web.users.{name}] table "
                         "first, or use --print and edit the file")
    new = text + ("" if text.endswith("\n") or not text else "\n") + "\n" + table
    try:
        tomllib.loads(new)
    except tomllib.TOMLDecodeError as exc:
        raise SyncdError(f"{path}: cannot add the user to this file ({exc}); use --print "
                         "and add the lines yourself") from None
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(new, encoding="utf-8")
    os.chmod(tmp, path.stat().st_mode & 0o777)
    os.replace(tmp, path)
