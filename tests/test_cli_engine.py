"""The engine's commands: status, documents, events, reload, run (through click)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from syncd.cli import cli
from syncd.cli.context import CliContext
from syncd.plugins import load_plugins
from syncd.testing.config import render_config


@pytest.fixture
def invoke(tmp_path, document_sink, syncd_plugin):
    """invoke(*args) -> click Result, with the testing plugin and a config in tmp_path."""
    path = tmp_path / "syncd.toml"

    def configure(**plugin):
        path.write_text(render_config(
            plugin={"sink_url": document_sink.url, "count": 4, **plugin},
            engine={"backoff_base": "10ms", "max_attempts": 2}))

    def run(*args):
        context = CliContext(config_path=None)
        context.host = load_plugins(only=set(), extra=[syncd_plugin])
        return CliRunner().invoke(cli, ["-c", str(path), *args], obj=context)

    configure()
    run.configure = configure
    return run


def test_run_once_then_status_json(invoke):
    result = invoke("run", "--once")
    assert result.exit_code == 0, result.output
    status = json.loads(invoke("status", "--json").output)
    (demo,) = status["pipelines"]
    assert demo["counts"]["done"] == 4 and demo["counts"]["error"] == 0
    assert demo["cursor"] == {"offset": 4}
    assert demo["last_run"] and demo["next_run"] > demo["last_run"]
    assert demo["warnings"] == []
    table = invoke("status").output
    assert "demo" in table and "4" in table


def test_documents_list_show_reset_and_mark_manual(invoke, document_sink):
    invoke.configure(reject_keys=["doc-000002"])
    document_sink.set_faults(1.0, ["400"])
    assert invoke("run", "--once").exit_code == 1
    errors = json.loads(invoke("documents", "list", "--state", "error", "--json").output)
    assert len(errors) == 4
    by_key = {r["source_key"]: r["id"] for r in errors}
    shown = invoke("documents", "show", str(by_key["doc-000000"])).output
    assert "invalid VAT id" in shown and "#1" in shown and "deliver -> permanent" in shown
    document_sink.set_faults(0.0)
    result = invoke("documents", "reset", str(by_key["doc-000000"]), "--actor", "erika")
    assert "waiting again" in result.output
    assert "waits for the source" in invoke("documents", "reset",
                                            str(by_key["doc-000002"])).output
    assert "marked manually imported" in invoke(
        "documents", "mark-manual", str(by_key["doc-000001"])).output
    assert invoke("run", "--once").exit_code == 1  # doc-000003 still in error
    states = {r["source_key"]: r["state"] for r in json.loads(
        invoke("documents", "list", "--json").output)}
    assert states == {"doc-000000": "done", "doc-000001": "manual",
                      "doc-000002": "waiting", "doc-000003": "error"}
    events = json.loads(invoke("events", "--since", "1h", "--json").output)
    assert any(e["kind"] == "reset" and e["actor"] == "erika" for e in events)
    assert any(e["kind"] == "manual" for e in events)
    missing = invoke("documents", "reset", "999")
    assert missing.exit_code != 0 and "no document with id 999" in str(missing.exception)


def test_resend_needs_yes_and_refuses_while_remote_has_it(invoke, document_sink):
    invoke("run", "--once")
    assert invoke("documents", "resend", "1").exit_code == 2
    refused = invoke("documents", "resend", "1", "--yes")
    assert refused.exit_code != 0 and "still has it" in refused.output
    document_sink.remove("synthetic:doc-000000")
    sent = invoke("documents", "resend", "1", "--yes")
    assert sent.exit_code == 0 and "sent again" in sent.output


def test_reload_logs_progress_and_resumes(invoke, document_sink):
    invoke.configure(count=6, days=6, max_window_days=2)
    result = invoke("reload", "demo", "--from", "2026-01-01", "--to", "2026-01-06")
    assert result.exit_code == 0, result.output
    assert "6 new" in result.output
    assert len(document_sink.received()) == 6
    again = invoke("reload", "demo", "--from", "2026-01-01", "--to", "2026-01-06")
    assert "6 already known" in again.output
    assert len(document_sink.received()) == 6
    bad = invoke("reload", "demo", "--from", "2026-01-06", "--to", "2026-01-01")
    assert bad.exit_code != 0 and "before" in str(bad.exception)


def test_events_since_rejects_nonsense(invoke):
    result = invoke("events", "--since", "yesterday-ish")
    assert result.exit_code != 0 and "--since" in str(result.exception)


def test_rich_progress_counts_windows_and_documents():
    from datetime import date

    from syncd.cli.reload import RichProgress
    from syncd.connectors import Window

    progress = RichProgress()
    progress.progress.console.quiet = True
    progress.start(windows=4, done=1)
    progress.window(Window(date(2026, 1, 1), date(2026, 1, 2)))
    progress.documents(7)
    progress.close()
    windows, docs = progress.progress.tasks
    assert (windows.completed, windows.total, docs.completed) == (2, 4, 7)


def test_status_shows_target_warnings_and_list_filters_by_pipeline(invoke, monkeypatch):
    from syncd.testing.plugin import SinkTarget

    monkeypatch.setattr(SinkTarget, "status_warnings",
                        lambda self: ["3 invoices must be uploaded within 2h"])
    invoke("run", "--once")
    status = json.loads(invoke("status", "--json").output)
    assert status["pipelines"][0]["warnings"] == ["sink: 3 invoices must be uploaded within 2h"]
    assert "3 invoices must be uploaded within 2h" in invoke("status").output
    assert json.loads(invoke("documents", "list", "--pipeline", "other", "--json").output) == []
    assert len(json.loads(invoke("documents", "list", "--pipeline", "demo", "--json").output)) == 4
