"""`syncd sandbox NAME`: run a plugin's local emulator of its remote system."""

from __future__ import annotations

import click

from syncd.cli.context import CliContext


class SandboxGroup(click.Group):
    """Subcommands come from `register_sandboxes`; each emulator brings its own click command."""

    def _sandboxes(self, ctx: click.Context) -> dict:
        obj = ctx.find_object(CliContext)
        return obj.plugins.registry.sandboxes if obj else {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self._sandboxes(ctx))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        emulator = self._sandboxes(ctx).get(cmd_name)
        if emulator is None:
            return None
        command = getattr(emulator, "command", None)
        if not isinstance(command, click.Command):
            raise click.ClickException(
                f"sandbox {cmd_name!r} has no click `command` attribute to start it with"
            )
        return command


@click.group("sandbox", cls=SandboxGroup)
def sandbox_command() -> None:
    """Start a local emulator of a remote system (no credentials, no internet)."""
