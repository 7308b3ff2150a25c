"""`syncd sandbox xentral`: the Xentral emulator in the foreground until Ctrl-C."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("xentral")
@click.option("--port", type=int, default=0, show_default=True,
              help="Port on 127.0.0.1; 0 picks a free one.")
@click.option("--token", default="sandbox-token", show_default=True)
@click.option("--limit", type=int, default=100, show_default=True,
              help="Requests per window (Xentral: 100 per minute).")
@click.option("--period", type=float, default=60.0, show_default=True,
              help="Window length in seconds.")
@click.option("--specs", "specs_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Folder of Xentral's OpenAPI files (default: "
              "$SYNCD_XENTRAL_SPECS or ../shared/specs/xentral beside the checkout).")
@click.option("--product", "products", multiple=True,
              help="Product numbers (SKUs) the emulator knows (repeatable); PORTO, RABATT "
              "and GESCHENK always exist.")
def command(port: int, token: str, limit: int, period: float, specs_dir: Path | None,
            products: tuple[str, ...]) -> None:
    """Serve a Xentral API emulator (v3 documents, files; v1 payment status) on 127.0.0.1."""
    from syncd_xentral.sandbox.server import XentralEmulator

    emulator = XentralEmulator(port=port, token=token, limit=limit, period=period,
                               specs_dir=specs_dir,
                               products=("PORTO", "RABATT", "GESCHENK", *products))
    emulator.bind()
    click.echo(f"Xentral sandbox on {emulator.url} (validation: "
               f"{'OpenAPI files' if emulator.specs.enabled else emulator.specs.reason}). "
               "Point syncd at it with:")
    click.echo(emulator.config_toml())
    emulator.serve_forever()  # until Ctrl-C
    click.echo("stopped")
