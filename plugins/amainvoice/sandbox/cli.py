"""`syncd sandbox amainvoice`: the emulator in the foreground until Ctrl-C."""

from __future__ import annotations

from datetime import datetime, timedelta

import click


@click.command("amainvoice")
@click.option("--port", type=int, default=0, show_default=True,
              help="Port on 127.0.0.1; 0 picks a free one.")
@click.option("--days", type=int, default=14, show_default=True,
              help="Days of data, ending yesterday.")
@click.option("--per-day", type=int, default=300, show_default=True,
              help="Orders per day (split shipments add invoices, refunds credit notes).")
@click.option("--rate", type=int, default=10, show_default=True,
              help="Requests per --per seconds before the emulator answers 'Throttel is On'.")
@click.option("--per", type=float, default=1.0, show_default=True)
@click.option("--throttle-style", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--latency", type=float, default=0.0, show_default=True,
              help="Seconds the remote takes per answer.")
@click.option("--late-ratio", type=float, default=0.03, show_default=True,
              help="Share of documents (or last lines) that appear only on a later fetch.")
@click.option("--inject", "injections", multiple=True, metavar="UNIT=ANSWER",
              help="Queue an answer, e.g. 2026-11-03.inv=html or '*=throttle-json'.")
@click.option("--seed", type=int, default=7, show_default=True)
def command(port: int, days: int, per_day: int, rate: int, per: float, throttle_style: str,
            latency: float, late_ratio: float, injections: tuple[str, ...], seed: int) -> None:
    """Serve an Amainvoice emulator (form-POST transport and PDFs) on 127.0.0.1."""
    from syncd_amainvoice.sandbox.dataset import Dataset
    from syncd_amainvoice.sandbox.server import AmainvoiceEmulator

    today = datetime.now().date()
    dataset = Dataset(today - timedelta(days=days), days, per_day=per_day, seed=seed,
                      late_ratio=late_ratio)
    emulator = AmainvoiceEmulator(dataset, port=port, rate=rate, per=per,
                                  throttle_style=throttle_style, latency=latency)
    for item in injections:
        unit, _, answer = item.partition("=")
        emulator.inject(unit, [answer])
    emulator.bind()
    click.echo(f"Amainvoice sandbox on {emulator.endpoint} ({days} days x {per_day} orders, "
               f"throttle {rate} per {per:g}s). Point syncd at it with:")
    click.echo(emulator.config_toml())
    emulator.serve_forever()  # until Ctrl-C
    click.echo("stopped")
