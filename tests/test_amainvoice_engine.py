"""Amainvoice through the real engine: numbers kept, late rows as revisions, reloads that
resume after throttling and after SIGKILL without losing or doubling a document, and
`syncd amainvoice thresholds` (SYNTHETIC data from the emulator)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from syncd.config import load_config
from syncd.engine import Engine
from syncd.plugins import load_plugins
from syncd.store import Store
from syncd.testing.plugin import PLUGIN
from syncd_amainvoice.sandbox import AmainvoiceEmulator, Dataset
from syncd_amainvoice.testing import engine_toml


def today():
    return AmainvoiceEmulator().today()


def make_engine(path: Path) -> tuple[Engine, Store]:
    config = load_config(path, load_plugins(extra=[PLUGIN]).registry)
    store = Store.open(config.database_url)
    return Engine(config, store, extra_plugins=[PLUGIN]), store


def keys(store: Store) -> dict[str, Any]:
    return {d.source_key: d for d in store.list_documents(limit=100_000)}


def with_a_refund(start: date, days: int, **options: Any) -> tuple[Dataset, Any]:
    """A dataset (its data is drawn per calendar day) holding a credit note whose invoice is
    in it too, whatever today is."""
    for seed in range(200):
        dataset = Dataset(start, days, seed=seed, **options)
        invoices = dataset.numbers("inv")
        for day in range(days):
            for credit in dataset.credit_notes(start + timedelta(days=day)):
                if credit.rows[0]["inv_rech_nr"] in invoices:
                    return dataset, credit
    raise AssertionError("no seed gives a refund of an invoice in range")


def expected(dataset: Dataset) -> set[str]:
    return ({f"invoice:{n}" for n in dataset.numbers("inv")}
            | {f"credit_note:{n}" for n in dataset.numbers("rem")})


def test_cycles_store_every_document_once_with_its_number_and_late_rows_as_revisions(
        tmp_path):
    dataset = Dataset(today() - timedelta(days=4), 4, per_day=10, late_ratio=0.25,
                      refund_ratio=0.3)
    with AmainvoiceEmulator(dataset, rate=1000) as emu:
        path = tmp_path / "syncd.toml"
        path.write_text(engine_toml(emu.config_values(lookback="4d")))
        engine, store = make_engine(path)
        try:
            pipeline = engine.pipelines()[0]
            first = engine.run_cycle(pipeline)
            assert first.pull_error is None and first.pulled.rejected == 0
            second = engine.run_cycle(pipeline)
            assert second.pulled.revised > 0  # invoices whose last line came late
            assert second.pulled.new > 0  # invoices that came late as a whole
            third = engine.run_cycle(pipeline)
            assert third.pulled.new == third.pulled.revised == 0  # seen complete: once
            docs = keys(store)
            assert set(docs) == expected(dataset)
            number = next(iter(dataset.numbers("rem")))
            assert docs[f"credit_note:{number}"].number == number  # kept, credit notes too
            stored = store.document_detail(docs[f"credit_note:{number}"].id)["document"]
            assert stored["links"][0]["source_key"].startswith("invoice:")
            states = Counter(d.state for d in docs.values())
            # a done document whose rows grew waits as `revised` for the operator (spine
            # policy for targets that do not update in place); all others are done once
            assert states == {"done": len(docs) - second.pulled.revised,
                              "revised": second.pulled.revised}
            assert sorted(emu.pdf_requests) == sorted(set(emu.pdf_requests))  # each once
            assert len(emu.pdf_requests) == len(docs)
            cursor = store.cursor("amainvoice", "amainvoice")
            assert cursor["through"] == (today() - timedelta(days=1)).isoformat()
        finally:
            engine.close()
            store.close()


def test_a_reload_throttled_midway_completes_in_one_run(tmp_path):
    dataset = Dataset(today() - timedelta(days=20), 20, per_day=4)
    with AmainvoiceEmulator(dataset, rate=8, per=0.5) as emu:
        path = tmp_path / "syncd.toml"
        path.write_text(engine_toml(emu.config_values(requests_per_second=100)))
        engine, store = make_engine(path)
        try:
            first = dataset.start
            last = today() - timedelta(days=1)
            stats, complete = engine.reload(engine.pipelines()[0], first, last, "test")
            assert complete and stats.rejected == 0
            assert emu.received("throttle-text")  # it was throttled and carried on
            assert {k for k in keys(store) if not k.startswith("row:")} >= expected(
                dataset) - {f"invoice:{d.number}" for n in range(20) for d in
                            dataset.invoices(first + timedelta(days=n))
                            if d.late == set(range(len(d.rows)))}
            assert store.cursor("amainvoice", "amainvoice") is None  # cycle cursor untouched
        finally:
            engine.close()
            store.close()


def test_sigkill_during_a_reload_resumes_without_loss(tmp_path):
    dataset = Dataset(today() - timedelta(days=21), 21, per_day=4, late_ratio=0.0)
    with AmainvoiceEmulator(dataset, rate=1000, latency=0.08) as emu:
        path = tmp_path / "syncd.toml"
        path.write_text(engine_toml(emu.config_values(concurrency=2)))
        command = [sys.executable, "-m", "syncd.testing.worker", "-c", str(path), "reload",
                   "amainvoice", "--from", dataset.start.isoformat(),
                   "--to", (today() - timedelta(days=1)).isoformat()]
        env = {**os.environ, "SYNCD_WORKER_PLUGINS": "amainvoice"}
        worker = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        store = Store.open(f"sqlite:///{tmp_path / 'syncd.db'}")
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and worker.poll() is None:
                try:
                    if len(keys(store)) > 0:
                        break
                except Exception:  # the worker is still creating the tables
                    pass
                time.sleep(0.05)
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(10)
            assert worker.returncode == -signal.SIGKILL, worker.stdout.read()
            killed_with = len(keys(store))
            assert 0 < killed_with < len(expected(dataset))
            again = subprocess.run(command, env=env, capture_output=True, text=True,
                                   timeout=120)
            assert again.returncode == 0, again.stdout + again.stderr
            docs = keys(store)
            assert set(docs) == expected(dataset)  # nothing lost, keys are unique
            assert all(d.revision == 1 for d in docs.values())  # nothing stored twice
        finally:
            store.close()
            if worker.poll() is None:
                worker.kill()
                worker.wait(10)
            worker.stdout.close()


def test_credit_notes_follow_their_invoice_and_a_failed_pdf_waits_in_error_until_reset(
        tmp_path, document_sink):
    dataset, credit = with_a_refund(today() - timedelta(days=3), 3, per_day=6, late_ratio=0.0,
                                    refund_ratio=0.5)
    with AmainvoiceEmulator(dataset, rate=1000) as emu:
        invoice_number = credit.rows[0]["inv_rech_nr"]
        emu.fail_pdf(invoice_number, [404])
        path = tmp_path / "syncd.toml"
        path.write_text(engine_toml(emu.config_values(), targets=("steps-sink",),
                                    sink_url=document_sink.url))
        engine, store = make_engine(path)
        try:
            pipeline = engine.pipelines()[0]
            engine.run_cycle(pipeline)
            docs = keys(store)
            bad = docs[f"invoice:{invoice_number}"]
            assert bad.state == "error"
            [delivery] = bad.deliveries
            assert delivery.step == "fetch" and "HTTP 404" in delivery.error_message
            assert invoice_number in delivery.error_message
            waiting = docs[f"credit_note:{credit.number}"]
            assert waiting.state == "waiting"  # its invoice is not at the target yet
            assert "waits for invoice" in waiting.deliveries[0].waiting_for
            store.reset([bad.id], "operator")
            engine.run_cycle(pipeline, pull=False)
            store_keys = {k: d.state for k, d in keys(store).items()}
            assert store_keys[f"invoice:{invoice_number}"] == "done"
            if store_keys[f"credit_note:{credit.number}"] != "done":  # its next look is due
                engine.run_cycle(pipeline, pull=False)
        finally:
            engine.close()
            store.close()
    received = {e["identity"]: e for e in document_sink.received()}
    sent_invoice = received[f"steps:amainvoice:invoice:{invoice_number}"]
    sent_credit = received[f"steps:amainvoice:credit_note:{credit.number}"]
    assert sent_credit["invoice_ref"] == sent_invoice["id"]
    [pdf] = document_sink.files(f"steps:amainvoice:invoice:{invoice_number}")
    assert pdf["name"] == f"{invoice_number}.pdf"
    assert emu.pdf_requests.count(invoice_number) == 2  # failed once, fetched after reset


def test_a_credit_note_naming_only_its_order_follows_the_invoice_of_that_order(
        tmp_path, document_sink):
    start = today() - timedelta(days=3)
    dataset = next(d for seed in range(200) if (d := Dataset(
        start, 3, per_day=6, seed=seed, late_ratio=0.0, refund_ratio=0.5, split_ratio=0.0,
        credits_name_invoice=False)).numbers("rem") and any(
        c.rows[0]["orderid"] in {i.rows[0]["amazonorderid"] for n in range(3)
                                 for i in d.invoices(start + timedelta(days=n))}
        for n in range(3) for c in d.credit_notes(start + timedelta(days=n))))
    invoices = {i.rows[0]["amazonorderid"]: i.number for n in range(3)
                for i in dataset.invoices(start + timedelta(days=n))}
    credit = next(c for n in range(3) for c in dataset.credit_notes(start + timedelta(days=n))
                  if c.rows[0]["orderid"] in invoices)
    assert credit.rows[0]["inv_rech_nr"] == ""  # the rows name the order only
    invoice_number = invoices[credit.rows[0]["orderid"]]
    with AmainvoiceEmulator(dataset, rate=1000) as emu:
        path = tmp_path / "syncd.toml"
        path.write_text(engine_toml(emu.config_values(), targets=("steps-sink",),
                                    sink_url=document_sink.url))
        engine, store = make_engine(path)
        try:
            pipeline = engine.pipelines()[0]
            for _ in range(3):  # the credit note's next look after its invoice is done
                engine.run_cycle(pipeline, pull=_ == 0)
                if keys(store)[f"credit_note:{credit.number}"].state == "done":
                    break
            assert keys(store)[f"credit_note:{credit.number}"].state == "done"
        finally:
            engine.close()
            store.close()
    received = {e["identity"]: e for e in document_sink.received()}
    sent_invoice = received[f"steps:amainvoice:invoice:{invoice_number}"]
    sent_credit = received[f"steps:amainvoice:credit_note:{credit.number}"]
    assert sent_credit["invoice_ref"] == sent_invoice["id"]
    order = [e["identity"] for e in document_sink.received()]
    assert order.index(f"steps:amainvoice:invoice:{invoice_number}") < order.index(
        f"steps:amainvoice:credit_note:{credit.number}")


def test_a_bad_row_waits_in_error_with_its_place_and_a_later_good_fetch_supersedes_it(
        tmp_path):
    dataset = Dataset(today() - timedelta(days=2), 2, per_day=4, late_ratio=0.0)
    with AmainvoiceEmulator(dataset, rate=1000) as emu:
        day = dataset.start
        emu.inject(f"{day.isoformat()}.inv", ["bad-row"])
        path = tmp_path / "syncd.toml"
        path.write_text(engine_toml(emu.config_values(lookback="2d")))
        engine, store = make_engine(path)
        try:
            pipeline = engine.pipelines()[0]
            summary = engine.run_cycle(pipeline)
            assert summary.pulled.rejected == 1 and summary.pull_error is None
            number = dataset.invoices(day)[0].number
            docs = keys(store)
            bad = docs[f"invoice:{number}"]
            assert bad.state == "error"
            assert bad.error == (f"{day.isoformat()}.inv row 0: field itemprice: '12,3x' is "
                                 "not a number")
            assert sum(d.state == "done" for d in docs.values()) == len(docs) - 1
            store.reset([bad.id], "operator")  # waits for a re-pull
            engine.run_cycle(pipeline)  # the lookback fetches the day again, now readable
            assert keys(store)[f"invoice:{number}"].state == "done"
        finally:
            engine.close()
            store.close()


def test_thresholds_command_shows_the_tax_data_as_table_and_json(tmp_path, monkeypatch):
    from syncd.cli import cli
    from syncd.cli.context import CliContext

    dataset = Dataset(today() - timedelta(days=2), 2, per_day=2)
    with AmainvoiceEmulator(dataset, rate=1000) as emu:
        path = tmp_path / "syncd.toml"
        path.write_text(engine_toml(emu.config_values()))
        engine, store = make_engine(path)
        try:
            engine.run_cycle(engine.pipelines()[0])
        finally:
            engine.close()
            store.close()

    def run(*args):
        context = CliContext(config_path=None)
        context.host = load_plugins(extra=[PLUGIN])
        if "amainvoice" not in cli.commands:  # what `syncd` does at start (main())
            context.host.pm.hook.register_commands(cli=cli)
        return CliRunner().invoke(cli, ["-c", str(path), "amainvoice", "thresholds", *args],
                                  obj=context, catch_exceptions=False)

    table = run()
    assert table.exit_code == 0, table.output
    assert "FR00999999999" in table.output and "thresholdCountries" in table.output
    data = json.loads(run("--json").output)
    assert data[0]["pipeline"] == "amainvoice"
    assert {e["country"] for e in data[0]["tax"]["countries"]} == {"FR", "IT", "ES"}
    missing = run("--pipeline", "nope")
    assert missing.exit_code != 0 and "no Amainvoice pipeline named 'nope'" in missing.output


def test_the_plugin_registers_source_sandbox_and_demo():
    registry = load_plugins().registry
    assert "amainvoice" in registry.sandboxes and "amainvoice" in registry.sources
    assert "amainvoice" in registry.demos


def test_a_failing_day_is_a_pull_error_naming_it_and_the_other_days_flow(tmp_path):
    dataset = Dataset(today() - timedelta(days=3), 3, per_day=3, late_ratio=0.0)
    with AmainvoiceEmulator(dataset, rate=1000) as emu:
        day = dataset.start + timedelta(days=1)
        emu.inject(f"{day.isoformat()}.rem", ["params"])
        path = tmp_path / "syncd.toml"
        path.write_text(engine_toml(emu.config_values(lookback="0d")))
        engine, store = make_engine(path)
        try:
            pipeline = engine.pipelines()[0]
            summary = engine.run_cycle(pipeline)
            assert f"{day.isoformat()}.rem" in summary.pull_error
            assert "Parameters not loaded" in summary.pull_error
            missing = {f"credit_note:{d.number}" for d in dataset.credit_notes(day)}
            assert set(keys(store)) == expected(dataset) - missing  # the rest was committed
            emu.requests.clear()
            again = engine.run_cycle(pipeline)
            assert again.pull_error is None
            assert [(r["start_date"], r["data_type"]) for r in emu.received()] == [
                (day.isoformat(), "rem")]  # only the outstanding unit
            assert set(keys(store)) == expected(dataset)
        finally:
            engine.close()
            store.close()


def test_on_postgresql_the_pace_is_shared_through_the_state_database(tmp_path, pg_url):
    dataset = Dataset(today() - timedelta(days=2), 2, per_day=3, late_ratio=0.0)
    with AmainvoiceEmulator(dataset, rate=1000) as emu:
        path = tmp_path / "syncd.toml"
        path.write_text(engine_toml(emu.config_values(), state_url=pg_url))
        engine, store = make_engine(path)
        try:
            summary = engine.run_cycle(engine.pipelines()[0])
            assert summary.pull_error is None
            assert set(keys(store)) == expected(dataset)
            assert all(d.state == "done" for d in keys(store).values())
        finally:
            engine.close()
            store.close()


def test_the_auth_token_reaches_no_log_error_event_or_database(tmp_path, capsys):
    from syncd.cli import cli
    from syncd.cli.context import CliContext

    dataset = Dataset(today() - timedelta(days=2), 2, per_day=2, late_ratio=0.0)
    with AmainvoiceEmulator(dataset, rate=1000) as emu:
        emu.inject(f"{dataset.start.isoformat()}.inv", ["echo"])  # quotes the token back
        path = tmp_path / "syncd.toml"
        path.write_text(engine_toml(emu.config_values()))
        engine, store = make_engine(path)
        try:
            summary = engine.run_cycle(engine.pipelines()[0])
            assert "cannot process paras" in summary.pull_error
            assert "client_identifier" in summary.pull_error  # the quote is kept, masked
            assert emu.auth_token not in summary.pull_error
        finally:
            engine.close()
            store.close()
    context = CliContext(config_path=None)
    context.host = load_plugins(extra=[PLUGIN])
    shown = CliRunner().invoke(cli, ["-c", str(path), "config", "show"], obj=context)
    assert shown.exit_code == 0 and "auth_token" in shown.output, shown.output
    assert emu.auth_token not in shown.output
    for name in ("syncd.db", "syncd.db-wal"):
        if (tmp_path / name).exists():
            assert emu.auth_token.encode() not in (tmp_path / name).read_bytes()
    assert emu.auth_token not in capsys.readouterr().err + capsys.readouterr().out
