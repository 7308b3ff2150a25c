"""Tables fit an 80-column terminal, piped output keeps every value whole, and global options
work after the subcommand (issue 8: 20, 22)."""

from __future__ import annotations

import io
import json

from click.testing import CliRunner
from rich.console import Console

from syncd.cli import cli, hoist_global_options
from syncd.cli.context import CliContext
from syncd.cli.tables import Column, console, fit, hint, render, to_text
from syncd.plugins import load_plugins
from syncd.testing.config import render_config

COLUMNS = [Column("id", justify="right", no_wrap=True), Column("pipeline", drop=3),
           Column("source key"), Column("state", no_wrap=True), Column("number", no_wrap=True),
           Column("targets", drop=2), Column("error", drop=1)]
ERROR = "PermanentError 8000: the totals do not agree to the cent " * 3
ROW = (17, "amazon-invoices", "amazon/302-1234567-1234567/shp-1", "error", "INV-2026-000001",
       "amazon:error, lexoffice@shop-b:waiting", ERROR)


def test_80_columns_fold_values_and_keep_numbers_whole():
    text = to_text(COLUMNS, [ROW, ROW], 80)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "INV-2026-000001" in text and " error " in text
    assert "not shown" not in text  # folding was enough
    header = "".join(lines[:3])
    for col in COLUMNS:
        assert col.header.split()[0] in header


def test_narrow_terminal_drops_columns_and_says_so_never_zero_width():
    *table, note = to_text(COLUMNS, [ROW], 40).splitlines()
    assert max(len(line) for line in table) <= 40
    assert note == "(not shown at this width: pipeline, targets, error; --json has every field)"
    keep, widths = fit(COLUMNS, [[str(v) for v in ROW]], 40)
    assert min(widths) >= 1 and [COLUMNS[i].header for i in keep] == [
        "id", "source key", "state", "number"]
    # even absurdly narrow: every kept column still shows something
    keep, widths = fit(COLUMNS, [[str(v) for v in ROW]], 20)
    assert min(widths) >= 1


def test_piped_output_is_never_wrapped():
    buffer = io.StringIO()
    out = console(file=buffer)
    assert not out.is_terminal
    render(COLUMNS, [ROW], out=out)
    hint("Inspect with: syncd -c /a/very/long/path/" + "x" * 120 + "/syncd.toml documents list",
         out)
    lines = buffer.getvalue().splitlines()
    assert any(ERROR.strip() in line and "INV-2026-000001" in line for line in lines)
    assert any(line.startswith("Inspect with: syncd -c /a/very/long/path/")
               and line.endswith("documents list") for line in lines)


def test_hint_stays_on_one_line_in_a_narrow_terminal():
    buffer = io.StringIO()
    hint("Inspect with: syncd -c " + "/x" * 60 + " documents list",
         Console(file=buffer, width=40))
    assert len(buffer.getvalue().splitlines()) == 1


def test_hoist_global_options():
    assert hoist_global_options(["run", "-c", "f.toml", "--once"]) == [
        "-c", "f.toml", "run", "--once"]
    assert hoist_global_options(["documents", "list", "--config=f", "--debug"]) == [
        "--config=f", "--debug", "documents", "list"]
    assert hoist_global_options(["events", "--log-format", "json", "-cx.toml"]) == [
        "--log-format", "json", "-cx.toml", "events"]
    assert hoist_global_options(["import", "p", "--", "-c"]) == ["import", "p", "--", "-c"]


def test_global_options_after_the_subcommand(tmp_path, syncd_plugin, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no syncd.toml here: only -c finds the config
    path = tmp_path / "elsewhere.toml"
    path.write_text(render_config(plugin={"count": 2, "numbering": False},
                                  pipelines=[{"name": "demo", "source": "synthetic",
                                              "targets": ["noop"]}]))

    def invoke(*args):
        context = CliContext(config_path=None)
        context.host = load_plugins(only=set(), extra=[syncd_plugin])
        return CliRunner().invoke(cli, list(args), obj=context)

    result = invoke("run", "--once", "-c", str(path))
    assert result.exit_code == 0, result.output
    result = invoke("documents", "list", "--config", str(path), "--debug", "--json")
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)) == 2
    result = invoke("config", "check", f"--config={path}")
    assert result.exit_code == 0 and "OK" in result.output
