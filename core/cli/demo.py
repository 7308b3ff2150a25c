"""`syncd demo`: every installed plugin's demo flow against its bundled emulator, in one run.

The parts come from the `register_demos` hook (`syncd.demo.DemoPart`): each starts its
emulator and returns its `[plugins.<plugin>]` table; the parts' pipelines, a synthetic
`[company]` and fast retry settings make one `syncd.toml` in the demo folder. Parts may push
inbox files, then one cycle of every pipeline runs through the real engine and one table per
pipeline shows what happened. Every run starts from an empty state, so the output repeats.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click
import tomli_w

from syncd import log as syncd_log
from syncd.cli.context import CliContext
from syncd.cli.tables import Column, console, hint, render
from syncd.demo import DemoPart
from syncd.errors import SyncdError

COMPANY: dict[str, Any] = {
    "name": "Demo Handel GmbH",
    "address": ["Beispielstraße 12"],
    "postal_code": "04103",
    "city": "Leipzig",
    "country": "DE",
    "vat_ids": {"DE": "DE999999999", "FR": "FR00999999999", "IT": "IT00999999999"},
    "tax_number": "231/000/00000",
    "email": "rechnung@demo-handel.example",
    "timezone": "Europe/Berlin",
}
RENDER = {"footer": "Demo Handel GmbH · Amtsgericht Leipzig HRB 00000 · synthetic demo data"}
ENGINE = {"backoff_base": "0.05s", "backoff_max": "0.5s"}
STYLE = {"done": "green", "error": "red", "waiting": "yellow", "processing": "yellow"}


def demo_config(parts: Mapping[str, dict[str, Any]],
                pipelines: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The whole demo config: company, render and engine settings, the parts' tables."""
    return {"company": COMPANY, "render": RENDER, "engine": ENGINE,
            "plugins": dict(parts), "pipelines": list(pipelines)}


MARKER = "# Written by `syncd demo`; every value here is synthetic.\n"


def _fresh(folder: Path) -> None:
    """Empty the demo's state, but never a folder holding a real syncd.toml."""
    config = folder / "syncd.toml"
    if config.exists() and not config.read_text("utf-8", errors="replace").startswith(MARKER):
        raise SyncdError(f"{config} was not written by `syncd demo`; the demo deletes the "
                         "state database beside it, so choose another --dir")
    for name in ("syncd.db", "syncd.db-wal", "syncd.db-shm"):
        (folder / name).unlink(missing_ok=True)
    shutil.rmtree(folder / "data", ignore_errors=True)


def _choose(available: Mapping[str, type], only: Sequence[str]) -> list[type[DemoPart]]:
    if not available:
        raise SyncdError("no installed plugin registers a demo part (register_demos)")
    unknown = sorted(set(only) - set(available))
    if unknown:
        raise click.UsageError(f"no demo part named {', '.join(unknown)} "
                               f"(available: {', '.join(sorted(available))})")
    return [available[name] for name in sorted(available) if not only or name in only]


def _field(row: Any, name: str, default: Any = None) -> Any:
    """Store rows are mappings today; typed read models keep the same field names."""
    if isinstance(row, Mapping):
        return row.get(name, default)
    return getattr(row, name, default)


def _money(value: Any, currency: str) -> str:
    try:
        return f"{Decimal(str(value)):,.2f} {currency}".strip() if value is not None else ""
    except InvalidOperation:
        return str(value)


def _styled(state: str) -> str:
    style = STYLE.get(state)
    return f"[{style}]{state}[/]" if style else state


@click.command("demo")
@click.option("--dir", "folder", default="syncd-demo", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Where the config, the state database and the files go.")
@click.option("-v", "--verbose", is_flag=True, help="Show every log line (remote calls, …).")
@click.option("--only", multiple=True, metavar="NAME",
              help="Run only this demo part (repeatable); default: every installed part.")
@click.pass_context
def demo_command(ctx: click.Context, folder: Path, verbose: bool, only: tuple[str, ...]) -> None:
    """Run every plugin's demo flow against its bundled emulator and show the result."""
    from syncd import daemon
    from syncd.cli.run import make_engine
    from syncd.store import Store

    obj: CliContext = ctx.obj
    out = console()
    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    _fresh(folder)
    classes = _choose(obj.plugins.registry.demos, only)
    quiet = not (verbose or obj.debug)

    def hush() -> None:
        if quiet:
            syncd_log.configure(fmt=obj.log_format, level="WARNING")  # type: ignore[arg-type]

    hush()
    with ExitStack() as stack:
        parts: list[DemoPart] = []
        tables: dict[str, dict[str, Any]] = {}
        for cls in classes:
            part = cls()
            tables[part.plugin] = part.start(folder)
            stack.callback(part.stop)
            parts.append(part)
        present = set(tables)
        offered = {part.name: part.pipelines(present) for part in parts}
        pipelines = [p for part in parts for p in offered[part.name]]
        path = folder / "syncd.toml"
        path.write_text(MARKER + tomli_w.dumps(demo_config(tables, pipelines)), encoding="utf-8")
        out.print(f"[bold]syncd demo[/]: {', '.join(p.name for p in parts)}; "
                  f"config written to {path}", soft_wrap=True)
        obj.config_path = path
        obj._config = None
        config = obj.config()
        hush()
        store = Store.open(config.database_url)
        stack.callback(store.close)
        _feed(parts, store, config, out)
        engine = make_engine(obj, config, store)
        code = daemon.run(engine, once=True, handle_signals=False)
        failed = _report(out, store, config)
        fed = {t.split("@")[0] for p in pipelines for t in p.get("targets", [])}
        for part in parts:
            # a target-only part (lexoffice, Xentral) is in use when a pipeline feeds it
            if not offered[part.name] and part.plugin not in fed:
                out.print(f"{part.name}: no pipeline with the plugins in this demo "
                          f"({', '.join(sorted(present))})", soft_wrap=True, highlight=False)
            for note in part.notes():
                out.print(note, soft_wrap=True, highlight=False)
        hint(f"Inspect with: syncd -c {path} documents list", out)
    ctx.exit(code or (1 if failed else 0))


def _feed(parts: Sequence[DemoPart], store: Any, config: Any, out: Any) -> None:
    """Let parts push their files through the same inbox path as `syncd import`."""
    from syncd.cli.inbox import import_files, known_pipeline

    def importer(pipeline: str, filename: str, data: bytes) -> object:
        known_pipeline(config, pipeline)
        lines = import_files(store, pipeline, [(filename, data)], "syncd demo")
        for line in lines:
            out.print(line, soft_wrap=True, highlight=False)
        return lines

    for part in parts:
        part.feed(importer)


def _report(out: Any, store: Any, config: Any) -> bool:
    """One table per pipeline; True when any delivery ended in error."""
    failed = False
    for pipeline in config.settings.pipelines:
        rows = sorted(store.list_documents(pipeline=pipeline.name, limit=100_000),
                      key=lambda r: _field(r, "id"))
        columns = [Column("id", justify="right", no_wrap=True, drop=4),
                   Column("number", no_wrap=True), Column("kind", no_wrap=True, drop=3),
                   Column("order", drop=2), Column("gross", justify="right", no_wrap=True),
                   Column("VAT", justify="right", no_wrap=True, drop=1)]
        columns += [Column(t, no_wrap=True) for t in pipeline.targets]
        table_rows = []
        for row in rows:
            detail = store.document_detail(_field(row, "id"))
            doc = _field(detail, "document") or {}
            totals, currency = doc.get("totals") or {}, doc.get("currency", "")
            states = dict(_field(row, "targets") or {})
            failed = failed or "error" in states.values() or _field(row, "state") == "error"
            numbers = _field(row, "numbers") or []
            order = (doc.get("references") or {}).get("order_id") or ""
            table_rows.append([
                str(_field(row, "id")), numbers[0] if numbers else "-",
                _field(row, "kind") or "", order,
                _money(totals.get("gross"), currency), _money(totals.get("vat"), currency),
                *(_styled(states.get(t, _field(row, "state") or "-")) for t in pipeline.targets),
            ])
        source = pipeline.source
        render(columns, table_rows, out=out,
               title=f"{pipeline.name}: {source} → {', '.join(pipeline.targets)} "
                     f"({len(rows)} document(s))")
        for event in store.events(pipeline=pipeline.name, limit=100_000):
            if _field(event, "kind") in ("skipped", "rejected"):
                out.print(f"{_field(event, 'kind')} {_field(event, 'source_key') or ''}: "
                          f"{_field(event, 'message') or ''}", soft_wrap=True, highlight=False)
            if _field(event, "kind") in ("pipeline-stopped", "cycle-error"):
                failed = True
                out.print(f"[red]{_field(event, 'kind')}[/] {pipeline.name}: "
                          f"{_field(event, 'message') or ''}", soft_wrap=True)
    return failed

