"""Afterbuy through the real engine: inbox → source → PDF fetch step → target (the sink)."""

from __future__ import annotations

import pytest
import tomli_w

from syncd import daemon
from syncd.config import load_config
from syncd.engine import Engine
from syncd.errors import ConfigError
from syncd.plugins import load_plugins
from syncd.store import Store
from syncd_afterbuy import invoices
from syncd_afterbuy import source as source_module
from syncd_afterbuy.sandbox import AfterbuyEmulator
from syncd_afterbuy.sandbox.generator import make_invoices, write_csv
from syncd_afterbuy.testing import running_emulator

FAST = {"backoff_base": "10ms", "backoff_max": "50ms", "max_attempts": 3}
PIPELINE = "afterbuy"


@pytest.fixture
def emulator():
    with running_emulator(12) as em:
        yield em


@pytest.fixture
def setup(tmp_path, document_sink, syncd_plugin):
    made = []

    def make(emulator, target="steps-sink", **afterbuy):
        data = {"engine": FAST,
                "plugins": {"testing": {"enabled": True, "sink_url": document_sink.url},
                            "afterbuy": emulator.config_values(**{"rate_limit": 100,
                                                                  **afterbuy})},
                "pipelines": [{"name": PIPELINE, "source": "afterbuy",
                               "targets": [target]}]}
        path = tmp_path / "syncd.toml"
        path.write_text(tomli_w.dumps(data))
        config = load_config(path, load_plugins(extra=[syncd_plugin]).registry)
        store = Store.open(config.database_url)
        engine = Engine(config, store, extra_plugins=[syncd_plugin])
        made.append(engine)
        return engine, config.settings.pipelines[0], store

    yield make
    for engine in made:
        engine.close()
        engine.store.close()


def states(store):
    return {d.source_key: d.state for d in store.list_documents(pipeline=PIPELINE)}


def test_an_uploaded_export_reaches_the_target_with_its_numbers_and_pdfs(setup, emulator,
                                                                         document_sink):
    engine, pipeline, store = setup(emulator)
    item, created = store.inbox_add(PIPELINE, "Rechnungsliste.csv", emulator.export.data, "op")
    assert created
    engine.run_cycle(pipeline)
    assert states(store) == dict.fromkeys(emulator.export.numbers, "done")
    stored = document_sink.stored()
    rows = {d.source_key: d for d in store.list_documents(pipeline=PIPELINE)}
    for invoice in emulator.export.invoices:
        identity = f"steps:afterbuy:{invoice.number}"
        assert stored[identity]["number"] == invoice.number  # Afterbuy's number, kept
        assert rows[invoice.number].kind == ("credit_note" if invoice.credit else "invoice")
        (pdf,) = document_sink.files(identity)
        assert pdf["name"] == f"{invoice.number}.pdf"
    assert emulator.count("login") == 1 and emulator.count("pdf", 200) == 12
    detail = store.document_detail(store.list_documents(pipeline=PIPELINE)[0].id)
    assert detail["document"]["extra"]["afterbuy:file"] == f"Rechnungsliste.csv (inbox {item.id})"


def test_the_same_file_twice_adds_nothing(setup, emulator, document_sink):
    engine, pipeline, store = setup(emulator)
    store.inbox_add(PIPELINE, "a.csv", emulator.export.data, "op")
    engine.run_cycle(pipeline)
    sent = len(document_sink.received())
    _, created = store.inbox_add(PIPELINE, "a (Kopie).csv", emulator.export.data, "op")
    assert not created
    summary = engine.run_cycle(pipeline)
    assert summary.pulled.new == 0 and len(document_sink.received()) == sent


def test_a_bad_row_waits_in_error_naming_file_line_and_column(setup, emulator):
    engine, pipeline, store = setup(emulator)
    text = emulator.export.data.decode().splitlines(keepends=True)
    assert ";02.11.2026;" in text[2]
    text[2] = text[2].replace(";02.11.2026;", ";31.02.2026;", 1)
    store.inbox_add(PIPELINE, "kaputt.csv", "".join(text).encode(), "op")
    engine.run_cycle(pipeline)
    (bad,) = store.list_documents(state="error", pipeline=PIPELINE)
    assert bad.source_key == "10001"
    assert "kaputt.csv (inbox 1):3: column 'Rechnungsdatum': '31.02.2026' disagrees with " \
        "'02.11.2026' on line 2 of invoice 10001" in bad.error
    assert sum(s == "done" for s in states(store).values()) == 11


def test_a_corrected_export_of_a_rejected_invoice_delivers_it(setup, emulator, document_sink):
    """A bad row is fixed in Afterbuy and exported again: the invoice leaves `error`."""
    engine, pipeline, store = setup(emulator)
    good = emulator.export.data.decode()
    lines = good.splitlines(keepends=True)
    assert lines[2].startswith("10001;") and ";02.11.2026;" in lines[2]
    lines[2] = lines[2].replace(";02.11.2026;", ";31.02.2026;", 1)
    store.inbox_add(PIPELINE, "kaputt.csv", "".join(lines).encode(), "op")
    engine.run_cycle(pipeline)
    assert states(store)["10001"] == "error"
    store.inbox_add(PIPELINE, "korrigiert.csv", good.encode(), "op")
    engine.run_cycle(pipeline)
    assert set(states(store).values()) == {"done"}
    assert "steps:afterbuy:10001" in document_sink.stored()


def test_a_changed_reupload_of_a_done_invoice_becomes_a_revision(setup, emulator,
                                                                   document_sink):
    engine, pipeline, store = setup(emulator, target="sink")
    invoices_ = emulator.export.invoices
    store.inbox_add(PIPELINE, "nov.csv", emulator.export.data, "op")
    engine.run_cycle(pipeline)
    sent = len(document_sink.received())
    changed = write_csv(invoices_).data.decode().replace("AB700014", "AB799999").encode()
    store.inbox_add(PIPELINE, "nov-neu.csv", changed, "op")
    summary = engine.run_cycle(pipeline)
    assert summary.pulled.revised == 1  # the 11 unchanged invoices stay as they were
    row = next(d for d in store.list_documents(pipeline=PIPELINE) if d.source_key == "10003")
    assert row.revision == 2
    detail = store.document_detail(row.id)
    assert detail["document"]["references"]["order_id"] == "AB799999"
    assert detail["document"]["extra"]["afterbuy:file"] == "nov-neu.csv (inbox 2)"
    assert len(document_sink.received()) == sent  # never resent silently
    assert {d.state for d in row.deliveries} == {"revised"}
    # "Bestellung neu hochladen": remove it at the target, then send the revision
    ((ok, message),) = engine.resend([row.id], "op")
    assert not ok and "still has it" in message
    document_sink.remove("afterbuy:10003")
    ((ok, message),) = engine.resend([row.id], "op")
    assert ok, message
    assert len(document_sink.received()) == sent + 1


def test_a_wrong_password_stops_the_pipeline_without_failing_documents(setup, emulator):
    engine, pipeline, store = setup(emulator, password="falsch")
    store.inbox_add(PIPELINE, "a.csv", emulator.export.data, "op")
    with pytest.raises(ConfigError) as info:
        engine.run_cycle(pipeline)
    assert "Afterbuy refused the login of user 'sandbox-user'" in str(info.value)
    assert "falsch" not in str(info.value)
    assert daemon.run(engine, once=True, handle_signals=False) != 0
    (stopped,) = [e for e in store.events(pipeline=PIPELINE) if e["kind"] == "pipeline-stopped"]
    assert "Afterbuy refused the login" in stopped["message"]
    assert "error" not in states(store).values()  # the documents wait for the fixed password
    assert emulator.count("pdf") == 0 and emulator.count("login") == 2


def test_a_missing_pdf_leaves_its_document_in_error_until_reset(setup, emulator):
    engine, pipeline, store = setup(emulator)
    emulator.forget_pdf("10005")
    store.inbox_add(PIPELINE, "a.csv", emulator.export.data, "op")
    engine.run_cycle(pipeline)
    (bad,) = store.list_documents(state="error", pipeline=PIPELINE)
    assert bad.source_key == "10005"
    assert all("no PDF for invoice 10005" in (d.error_message or "") for d in bad.deliveries)
    emulator.add_pdf("10005")
    store.reset([bad.id], "op")
    engine.run_cycle(pipeline)
    assert set(states(store).values()) == {"done"}


def test_an_expired_session_logs_in_again_during_a_run(setup, emulator):
    emulator.session_downloads = 5
    engine, pipeline, store = setup(emulator)
    store.inbox_add(PIPELINE, "a.csv", emulator.export.data, "op")
    engine.run_cycle(pipeline)
    assert set(states(store).values()) == {"done"}
    assert emulator.count("login") == 3 and emulator.count("pdf", 200) == 12


def test_the_session_cookie_and_password_never_reach_the_database_files_or_log(
        setup, emulator, tmp_path):
    import io
    import sqlite3

    from syncd import log

    emulator.session_downloads = 4  # several sessions, each must stay in memory only
    engine, pipeline, store = setup(emulator)
    stream = io.StringIO()
    log.configure(fmt="json", level="DEBUG", stream=stream)
    try:
        store.inbox_add(PIPELINE, "a.csv", emulator.export.data, "op")
        engine.run_cycle(pipeline)
    finally:
        log.configure(fmt="json")
    assert set(states(store).values()) == {"done"} and len(emulator.issued) == 3
    assert stream.getvalue().count('"http call"') >= 15  # the logins and downloads were logged
    engine.close()
    store.close()
    with sqlite3.connect(tmp_path / "syncd.db") as db:
        dump = "\n".join(db.iterdump())
    files = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert any(p.name == "syncd.db" for p in files) and "a.csv (inbox 1)" in dump
    for token in emulator.issued:
        assert token not in dump and token not in stream.getvalue()
        assert not [p for p, data in files.items() if token.encode() in data]
    password = emulator.password
    assert password not in dump and password not in stream.getvalue()
    assert [p.name for p, data in files.items() if password.encode() in data] == ["syncd.toml"]


def test_pause_and_resume_lose_nothing_and_resume_at_the_cursor(setup, emulator, monkeypatch,
                                                                document_sink):
    engine, pipeline, store = setup(emulator)
    store.pause(PIPELINE, "op")
    store.inbox_add(PIPELINE, "a.csv", emulator.export.data, "op")
    assert engine.run_cycle(pipeline).paused and states(store) == {}
    store.resume(PIPELINE, "op")
    # a pull that breaks off in the middle of the file: 5 documents committed, then a failure
    monkeypatch.setattr(source_module, "BATCH", 5)
    real, calls = invoices.InvoiceList.build, []

    def flaky(self, invoice):
        calls.append(invoice.number)
        if len(calls) == 8:
            raise RuntimeError("connection to the state database lost")
        return real(self, invoice)

    monkeypatch.setattr(invoices.InvoiceList, "build", flaky)
    first = engine.run_cycle(pipeline)
    assert first.pull_error and len(states(store)) == 5
    assert store.cursor(PIPELINE, "afterbuy") == {"file": {"id": 1, "done": 5}}
    engine.run_cycle(pipeline)
    assert states(store) == dict.fromkeys(emulator.export.numbers, "done")
    identities = [e["identity"] for e in document_sink.received()]
    assert len(identities) == len(set(identities)) == 12
    assert store.cursor(PIPELINE, "afterbuy") == {"inbox": 1}


def test_a_pause_while_a_file_is_read_stops_after_the_batch_and_resumes_at_its_cursor(
        setup, emulator, monkeypatch, document_sink):
    """The seed's sync switch flipped off in the middle of a long file, then on again."""
    engine, pipeline, store = setup(emulator)
    store.inbox_add(PIPELINE, "a.csv", emulator.export.data, "op")
    monkeypatch.setattr(source_module, "BATCH", 5)
    real, built = invoices.InvoiceList.build, []

    def pausing(self, invoice):
        built.append(invoice.number)
        if len(built) == 7:  # the operator pauses while the second batch is being read
            store.pause(PIPELINE, "op")
        return real(self, invoice)

    monkeypatch.setattr(invoices.InvoiceList, "build", pausing)
    engine.run_cycle(pipeline)
    assert len(built) == 10 and len(states(store)) == 10  # the batch in flight, no more
    assert store.cursor(PIPELINE, "afterbuy") == {"file": {"id": 1, "done": 10}}
    assert document_sink.received() == []  # paused: nothing delivered
    store.resume(PIPELINE, "op")
    engine.run_cycle(pipeline)
    assert built[10:] == emulator.export.numbers[10:]  # resumed at the cursor, none rebuilt
    assert states(store) == dict.fromkeys(emulator.export.numbers, "done")
    identities = [e["identity"] for e in document_sink.received()]
    assert len(identities) == len(set(identities)) == 12
    assert store.cursor(PIPELINE, "afterbuy") == {"inbox": 1}


def test_the_xml_api_feeds_the_pipeline_with_paging_and_skips(setup):
    with AfterbuyEmulator(make_invoices(23), amazon_every=10) as emulator:
        engine, pipeline, store = setup(emulator, api=True, api_since="2026-10-01",
                                        api_page_size=10)
        summary = engine.run_cycle(pipeline)
        assert summary.pulled.new == 20 and summary.pulled.skipped == 3
        assert set(states(store).values()) == {"done"}
        assert emulator.count("api") == 3 and emulator.count("pdf", 200) == 20
        cursor = store.cursor(PIPELINE, "afterbuy")
        assert set(cursor) == {"api"} and "until" not in cursor["api"]
        skipped = [e for e in store.events(pipeline=PIPELINE) if e["kind"] == "skipped"]
        assert len(skipped) == 3 and "IsAmazonInvoiced" in skipped[0]["message"]


@pytest.mark.slow
def test_the_operator_flow_import_run_show_reset(tmp_path, emulator, document_sink):
    """`syncd import`, `syncd run --once`, `documents show` and `reset` as an operator runs them."""
    import os
    import subprocess
    import sys

    data = {"engine": FAST,
            "plugins": {"testing": {"enabled": True, "sink_url": document_sink.url},
                        "afterbuy": emulator.config_values(rate_limit=100)},
            "pipelines": [{"name": PIPELINE, "source": "afterbuy", "targets": ["steps-sink"]}]}
    (tmp_path / "syncd.toml").write_text(tomli_w.dumps(data))
    (tmp_path / "Rechnungsliste.csv").write_bytes(emulator.export.data)
    emulator.forget_pdf("10005")
    env = {**os.environ, "SYNCD_WORKER_PLUGINS": "afterbuy"}

    def syncd(*args):
        return subprocess.run([sys.executable, "-m", "syncd.testing.worker", "-c", "syncd.toml",
                               *args], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=120)

    first = syncd("import", PIPELINE, "Rechnungsliste.csv", "Rechnungsliste.csv")
    assert first.returncode == 0, first.stderr
    assert "already in the inbox of afterbuy as item 1" in first.stdout
    run = syncd("run", "--once")
    assert run.returncode == 1  # one document waits in error
    store = Store.open(f"sqlite:///{tmp_path / 'syncd.db'}")
    try:
        (bad,) = store.list_documents(state="error")
        assert bad.source_key == "10005"
        shown = syncd("documents", "show", str(bad.id))
        assert "afterbuy:file Rechnungsliste.csv (inbox 1)" in shown.stdout
        assert "no PDF for invoice 10005" in shown.stdout
        emulator.add_pdf("10005")
        assert syncd("documents", "reset", str(bad.id)).returncode == 0
        assert syncd("run", "--once").returncode == 0
        assert {d.state for d in store.list_documents(pipeline=PIPELINE)} == {"done"}
    finally:
        store.close()
    assert len(document_sink.stored()) == 12


def test_afterbuy_to_lexoffice_end_to_end_against_both_emulators(tmp_path, emulator):
    """The seed's flow: the invoice list and Afterbuy's PDFs become lexoffice vouchers."""
    sandbox = pytest.importorskip("syncd_lexoffice.sandbox",
                                  reason="the lexoffice plugin is not installed")
    with sandbox.LexofficeEmulator(rate=50) as lexoffice:
        data = {"engine": FAST,
                "plugins": {"afterbuy": emulator.config_values(rate_limit=100),
                            "lexoffice": lexoffice.config(mark_paid=False)},
                "pipelines": [{"name": PIPELINE, "source": "afterbuy",
                               "targets": ["lexoffice"]}]}
        path = tmp_path / "syncd.toml"
        path.write_text(tomli_w.dumps(data))
        config = load_config(path, load_plugins().registry)
        store = Store.open(config.database_url)
        engine = Engine(config, store)
        try:
            store.inbox_add(PIPELINE, "Rechnungsliste.csv", emulator.export.data, "op")
            engine.run_cycle(config.settings.pipelines[0])
            assert set(states(store).values()) == {"done"}
        finally:
            engine.close()
            store.close()
        vouchers = {v.body["voucherNumber"]: v for v in lexoffice.state.vouchers.values()}
    assert sorted(vouchers) == sorted(emulator.export.numbers)  # each once, Afterbuy's number
    for invoice in emulator.export.invoices:
        voucher = vouchers[invoice.number]
        assert voucher.body["type"] == ("salescreditnote" if invoice.credit
                                        else "salesinvoice")
        assert voucher.gross == abs(invoice.gross) and len(voucher.files) == 1
