"""`syncd sandbox afterbuy`: the emulator in the foreground until Ctrl-C."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("afterbuy")
@click.option("--port", type=int, default=0, show_default=True,
              help="Port on 127.0.0.1; 0 picks a free one.")
@click.option("--invoices", "count", type=int, default=30, show_default=True,
              help="How many synthetic invoices (PDFs and XML API orders) to serve.")
@click.option("--session-downloads", type=int, default=0, show_default=True,
              help="A session expires after this many PDF downloads (0: never).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the matching invoice-list CSV export here.")
def command(port: int, count: int, session_downloads: int, csv_path: Path | None) -> None:
    """Serve an Afterbuy emulator (login, invoice PDFs, GetSoldItems) on 127.0.0.1."""
    from syncd_afterbuy.sandbox.generator import generate
    from syncd_afterbuy.sandbox.server import AfterbuyEmulator

    export = generate(count)
    emulator = AfterbuyEmulator(export.invoices, port=port, session_downloads=session_downloads)
    emulator.bind()
    if csv_path is not None:
        csv_path.write_bytes(export.data)
        click.echo(f"invoice-list CSV ({export.rows} rows) written to {csv_path}")
    click.echo(f"Afterbuy sandbox on {emulator.url} ({count} invoices). Point syncd at it with:")
    click.echo(emulator.config_toml(api=True))
    emulator.serve_forever()  # until Ctrl-C
    click.echo("stopped")
