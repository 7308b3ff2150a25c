"""The `syncd` command line. Each topic lives in its own module; plugins add more via a hook."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from syncd import __version__
from syncd import log as syncd_log
from syncd.cli.context import CliContext
from syncd.errors import ConfigError, SyncdError
from syncd.plugins import load_plugins

GLOBAL_VALUE_OPTIONS = ("-c", "--config", "--log-format")
GLOBAL_FLAGS = ("--debug",)


def hoist_global_options(args: list[str]) -> list[str]:
    """Move the global options to the front, so `syncd run -c f.toml` works like
    `syncd -c f.toml run` (and `syncd documents list --config f --debug` too)."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        name = arg.split("=", 1)[0]
        if arg in GLOBAL_FLAGS:
            front.append(arg)
        elif arg in GLOBAL_VALUE_OPTIONS and i + 1 < len(args):
            front.extend(args[i:i + 2])
            i += 1
        elif (name in GLOBAL_VALUE_OPTIONS[1:] and "=" in arg) or (
                arg.startswith("-c") and len(arg) > 2 and not arg.startswith("--")):
            front.append(arg)
        else:
            rest.append(arg)
        i += 1
    return front + rest


class SyncdGroup(click.Group):
    """The top-level group: global options are accepted before or after the subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_global_options(list(args)))


@click.group(cls=SyncdGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="syncd")
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="SYNCD_CONFIG",
    help="Config file (default: ./syncd.toml, or $SYNCD_CONFIG).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.option(
    "--log-format",
    type=click.Choice(["auto", "json", "console"]),
    default="auto",
    show_default=True,
    help="JSON lines when stderr is not a TTY, readable console otherwise.",
)
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, debug: bool, log_format: str) -> None:
    """syncd moves invoices, credit notes and orders between your systems.

    The options below may also follow the subcommand: `syncd run -c syncd.toml`.
    """
    syncd_log.configure(fmt=log_format, level="DEBUG" if debug else "INFO")  # type: ignore[arg-type]
    if ctx.obj is None:
        ctx.obj = CliContext(config_path=config_path, debug=debug, log_format=log_format)
    else:  # main() pre-built the context to register plugin commands
        ctx.obj.config_path = config_path
        ctx.obj.debug = debug
        ctx.obj.log_format = log_format


def _attach_builtin_commands() -> None:
    from syncd.cli import config, demo, plugins, sandbox

    for command in (config.config_group, plugins.plugins_group, sandbox.sandbox_command,
                    demo.demo_command):
        cli.add_command(command)


_attach_builtin_commands()

from syncd.cli import documents, events, inbox, pipelines, reload, run, status, web  # noqa: E402

cli.add_command(run.run_command)
cli.add_command(status.status_command)
cli.add_command(documents.documents_group)
cli.add_command(events.events_command)
cli.add_command(reload.reload_command)
cli.add_command(inbox.import_command)
cli.add_command(pipelines.pipelines_group)
cli.add_command(web.web_group)


def _print_error(error: BaseException) -> None:
    text = syncd_log.masker().mask(str(error))
    if isinstance(error, ConfigError):
        click.echo(f"error: {error.source or 'config'}: invalid configuration", err=True)
        for problem in error.problems:
            click.echo(f"  {syncd_log.masker().mask(problem)}", err=True)
    else:
        click.echo(f"error: {text}", err=True)


def main(argv: list[str] | None = None) -> Any:
    """Console entry point: loads plugins for their commands, turns errors into one line."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in hoist_global_options(list(args))
    context = CliContext(config_path=None, debug=debug, log_format="auto", own_process=True)
    try:
        context.host = load_plugins()
        context.host.pm.hook.register_commands(cli=cli)
        return cli.main(args=args, prog_name="syncd", obj=context, standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except SyncdError as exc:
        if debug:
            raise
        _print_error(exc)
        sys.exit(2 if isinstance(exc, ConfigError) else 1)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if debug:
            raise
        _print_error(exc)
        click.echo("(run with --debug for the traceback)", err=True)
        sys.exit(1)
