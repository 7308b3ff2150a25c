"""`syncd demo`: the whole Amazon flow on this machine, with no credentials and no internet.

Starts the SP-API emulator with the bundled SYNTHETIC VIDR, writes a config into the demo
folder, runs one full sync cycle through the real engine, renderer and upload path, and prints
what happened. Every run starts from an empty state so the output is the same each time.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from syncd import log as syncd_log
from syncd.cli.context import CliContext
from syncd_amazon.fixtures import DEMO_VIDR
from syncd_amazon.sandbox import AmazonEmulator
from syncd_amazon.target import safe_filename
from syncd_amazon.testing import FAST

DEMO_CONFIG = """# Written by `syncd demo`; every value here is synthetic.
[company]
name = "Demo Handel GmbH"
address = ["Beispielstraße 12"]
postal_code = "04103"
city = "Leipzig"
country = "DE"
vat_ids = {{ DE = "DE999999999", FR = "FR00999999999", IT = "IT00999999999" }}
tax_number = "231/000/00000"
email = "rechnung@demo-handel.example"

[render]
footer = "Demo Handel GmbH · Amtsgericht Leipzig HRB 00000 · synthetic demo data"

[engine]
backoff_base = "0.05s"
backoff_max = "0.5s"

{amazon}
[[pipelines]]
name = "amazon-invoices"
source = "amazon"
targets = ["amazon"]
schedule = "12h"
"""


def _fresh(folder: Path) -> None:
    for name in ("syncd.db", "syncd.db-wal", "syncd.db-shm"):
        (folder / name).unlink(missing_ok=True)
    shutil.rmtree(folder / "data", ignore_errors=True)


def _money(value: str | None, currency: str) -> str:
    return f"{Decimal(value):,.2f} {currency}" if value is not None else ""


@click.command("demo")
@click.option("--dir", "folder", default="syncd-demo", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Where the config, the state database and the PDFs go.")
@click.option("--speedup", default=100.0, show_default=True,
              help="How much faster than Amazon the emulator's rate limits run.")
@click.option("-v", "--verbose", is_flag=True, help="Show every log line (SP-API calls, …).")
@click.pass_context
def demo_command(ctx: click.Context, folder: Path, speedup: float, verbose: bool) -> None:
    """Run the Amazon invoice flow against the bundled emulator and show the result."""
    from syncd import daemon
    from syncd.engine import Engine
    from syncd.store import Store

    obj: CliContext = ctx.obj
    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    _fresh(folder)
    console = Console(width=None if Console().is_terminal else 150)
    with AmazonEmulator([DEMO_VIDR], speedup=speedup, fresh_dates=True) as emulator:
        path = folder / "syncd.toml"
        amazon = emulator.config_toml(**FAST, upload_interval=f"{3.0 / speedup:g}s")
        path.write_text(DEMO_CONFIG.format(amazon=amazon), encoding="utf-8")
        console.print(f"[bold]SP-API emulator[/] on {emulator.url} with the synthetic VIDR "
                      f"{DEMO_VIDR.name}; config written to {path}")
        obj.config_path = path
        obj._config = None
        config = obj.config()
        if not (verbose or obj.debug):
            syncd_log.configure(fmt=obj.log_format, level="WARNING")  # type: ignore[arg-type]
        store = Store.open(config.database_url)
        try:
            engine = Engine(config, store, host=obj.plugins.activate(config.enabled_plugins))
            code = daemon.run(engine, once=True, handle_signals=False)
            _print_result(console, store, folder, emulator)
        finally:
            store.close()
    ctx.exit(code)


def _print_result(console: Console, store: object, folder: Path,
                  emulator: AmazonEmulator) -> None:
    rows = sorted(store.list_documents(limit=10_000), key=lambda r: r["id"])  # type: ignore[attr-defined]
    table = Table(title="syncd demo: Amazon VIDR → PDF → UPLOAD_VAT_INVOICE")
    for column in ("id", "shipment / transaction", "kind", "number", "gross", "VAT",
                   "state", "PDF"):
        table.add_column(column, justify="right" if column in ("gross", "VAT", "id") else "left",
                         no_wrap=column != "PDF")
    pdf_dir = folder / "data" / "amazon" / "pdf"
    for row in rows:
        detail = store.document_detail(row["id"])  # type: ignore[attr-defined]
        doc = detail["document"] or {}
        totals, currency = doc.get("totals") or {}, doc.get("currency", "")
        number = row["numbers"][0] if row["numbers"] else ""
        pdf = pdf_dir / f"{safe_filename(number)}.pdf" if number else None
        state = row["state"]
        style = {"done": "green", "error": "red", "waiting": "yellow"}.get(state, "")
        table.add_row(
            str(row["id"]), row["source_key"].split("/", 1)[-1], row["kind"] or "", number,
            _money(totals.get("gross"), currency), _money(totals.get("vat"), currency),
            f"[{style}]{state}[/]" if style else state,
            pdf.name if pdf and pdf.exists() else "",
        )
    console.print(table)
    console.print(f"PDFs (exactly as uploaded): {pdf_dir}")
    skipped = [e for e in store.events(limit=10_000) if e.get("kind") == "skipped"]  # type: ignore[attr-defined]
    for event in skipped:
        console.print(f"skipped {event.get('source_key') or ''}: {event.get('message') or ''}")
    feeds = emulator.state.feeds
    errors = [f for f in feeds.values() if f.errors]
    console.print(
        f"The emulator received {len(feeds)} UPLOAD_VAT_INVOICE feed(s), "
        f"{len(errors)} rejected, {len(emulator.state.duplicate_uploads)} duplicate(s), "
        f"{len(emulator.state.spec_violations)} request(s) off the official models. "
        f"Inspect with: syncd -c {folder / 'syncd.toml'} documents list"
    )
