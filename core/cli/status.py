"""`syncd status [--json]`: what waits, what failed, when each pipeline ran and runs next."""

from __future__ import annotations

import json
from typing import Any

import click

from syncd.cli.run import make_engine, opened_store
from syncd.config_checks import split_endpoint
from syncd.daemon import next_runs
from syncd.store import STATES


def _iso(value: Any) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def status_command(obj: Any, as_json: bool) -> None:
    """Counts per pipeline and state, last and next run, cursors, warnings."""
    with opened_store(obj, read_only=True) as (config, store):
        counts = store.counts()
        runs = store.runs()
        upcoming = next_runs(config, store)
        cursors = {(c.pipeline, c.source): c.cursor for c in store.cursors()}
        controls = store.controls()
        engine = make_engine(obj, config, store)
        report = []
        for p in config.settings.pipelines:
            row = runs.get(p.name)
            report.append({
                "pipeline": p.name,
                "enabled": p.enabled,
                "paused": bool(controls.get(p.name) and controls[p.name].paused),
                "source": p.source,
                "targets": p.targets,
                "schedule": p.schedule,
                "counts": {s: counts.get(p.name, {}).get(s, 0)
                           for s in (*STATES, "rejected", "repull")},
                "last_run": _iso(row.last_finished_at) if row else None,
                "last_summary": row.last_summary if row else None,
                "next_run": _iso(upcoming.get(p.name)),
                "cursor": cursors.get((p.name, p.source)),
                "warnings": _warnings(engine, p) if p.enabled else [],
            })
        engine.close()
    if as_json:
        click.echo(json.dumps({"pipelines": report}, indent=2, default=str))
        return
    _print(report)


def _warnings(engine: Any, pipeline: Any) -> list[str]:
    """Targets may offer `status_warnings()` (e.g. Amazon's upload deadlines)."""
    found = []
    for name in pipeline.targets:
        cls = engine.host.registry.targets.get(split_endpoint(name)[0])
        if cls is None or not hasattr(cls, "status_warnings"):
            continue
        try:
            found.extend(f"{name}: {w}" for w in engine.target(pipeline, name).status_warnings())
        except Exception as exc:  # status must still print when a remote is unreachable
            found.append(f"{name}: cannot check warnings: {type(exc).__name__}: {exc}")
    return found


def _print(report: list[dict[str, Any]]) -> None:
    from syncd.cli.tables import Column, console, render

    out = console()
    def count(header: str, drop: int = 0) -> Column:
        return Column(header, drop=drop, justify="right", no_wrap=True)

    columns = [Column("pipeline"), count("waiting"), count("processing", 2), count("error"),
               count("done"), count("manual", 1), Column("last run (UTC)", drop=3),
               Column("next run (UTC)"), Column("cursor", drop=4)]
    rows = []
    for r in report:
        c = r["counts"]
        name = r["pipeline"] + ("" if r["enabled"] else " (disabled)") + (
            " (paused)" if r["paused"] else "")
        rows.append((name, str(c["waiting"] + c["repull"] + c["revised"]),
                     str(c["processing"]), str(c["error"] + c["rejected"]), str(c["done"]),
                     str(c["manual"]), r["last_run"] or "-", r["next_run"] or "-",
                     json.dumps(r["cursor"]) if r["cursor"] is not None else "-"))
    render(columns, rows, out=out, title="syncd status")
    for r in report:
        for warning in r["warnings"]:
            out.print(f"[yellow]warning[/yellow] {r['pipeline']}: {warning}")
