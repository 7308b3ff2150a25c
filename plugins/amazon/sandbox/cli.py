"""`syncd sandbox amazon`: runs the emulator in the foreground until Ctrl-C."""

from __future__ import annotations

from pathlib import Path

import click

from syncd_amazon.fixtures import DEMO_VIDR


@click.command("amazon")
@click.option("--port", type=int, default=0, show_default=True,
              help="Port on 127.0.0.1; 0 picks a free one.")
@click.option("--vidr", "vidr_files", multiple=True, type=click.Path(exists=True, dir_okay=False,
              path_type=Path), help="VIDR files with the shipments to serve (repeatable); "
              "default: the bundled synthetic demo VIDR.")
@click.option("--speedup", type=float, default=1.0, show_default=True,
              help="Multiply every rate limit and divide the 3 s upload spacing by this.")
@click.option("--fresh-dates/--original-dates", default=True, show_default=True,
              help="Shift order and shipment dates so the newest shipment is 2 hours old.")
@click.option("--client-id", default="sandbox-client-id", show_default=True)
@click.option("--client-secret", default="sandbox-client-secret", show_default=True)
@click.option("--refresh-token", default="Atzr|sandbox-refresh-token", show_default=True)
@click.option("--records", "records_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Rewrite FILE with what the emulator received (JSON, as GET /_records) "
              "after every request.")
def command(port: int, vidr_files: tuple[Path, ...], speedup: float, fresh_dates: bool,
            client_id: str, client_secret: str, refresh_token: str,
            records_file: Path | None) -> None:
    """Serve an Amazon SP-API emulator (LWA, Reports, Feeds) on 127.0.0.1."""
    from syncd_amazon.sandbox.server import AmazonEmulator

    emulator = AmazonEmulator(vidr_files or [DEMO_VIDR], port=port, speedup=speedup,
                              client_id=client_id, client_secret=client_secret,
                              refresh_token=refresh_token, fresh_dates=fresh_dates,
                              records_file=records_file)
    emulator.bind()
    if records_file is not None:
        emulator.records_file.write(emulator)  # type: ignore[union-attr]
    click.echo(f"Amazon sandbox on {emulator.url} ({len(emulator.state.groups)} shipment "
               "groups). Point syncd at it with:")
    click.echo(emulator.config_toml())
    click.echo(f"Records: GET {emulator.url}/_records"
               + (f", and {records_file} after every request" if records_file else "")
               + f"; bodies checked against {emulator.specs.checks}")
    emulator.serve_forever()  # until Ctrl-C
    click.echo("stopped")
