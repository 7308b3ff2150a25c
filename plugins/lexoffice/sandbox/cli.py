"""`syncd sandbox lexoffice`: runs the emulator in the foreground until Ctrl-C."""

from __future__ import annotations

import click


@click.command("lexoffice")
@click.option("--port", type=int, default=0, show_default=True,
              help="Port on 127.0.0.1; 0 picks a free one.")
@click.option("--rate", type=float, default=2.0, show_default=True,
              help="Requests per second of the token bucket (lexoffice: 2).")
@click.option("--api-key", default="sandbox-api-key", show_default=True)
@click.option("--login-email", default="buchhaltung@example.com", show_default=True)
@click.option("--login-password", default="sandbox-password", show_default=True)
def command(port: int, rate: float, api_key: str, login_email: str, login_password: str) -> None:
    """Serve a lexoffice Public API (and web-app payment) emulator on 127.0.0.1."""
    from syncd_lexoffice.sandbox.server import LexofficeEmulator

    emulator = LexofficeEmulator(port=port, rate=rate, api_key=api_key,
                                 login_email=login_email, login_password=login_password)
    emulator.bind()
    click.echo(f"lexoffice sandbox on {emulator.url} (rate {rate:g}/s, voucher schema: "
               f"{emulator.validator.schema_source}; categories: "
               f"{emulator.state.categories_origin}). Point syncd at it with:")
    click.echo(emulator.config_toml())
    emulator.serve_forever()  # until Ctrl-C
    click.echo("stopped")

