"""Amazon → Xentral end to end through the real engine, renderer and both emulators.

Amazon documents are numbered by syncd (the amazon target's series comes first), rendered by
the pdf renderer, uploaded to Amazon and created in Xentral with their PDF as attachment; FBA
invoices are marked paid, credit notes reference their invoice's Xentral id, and a second run
sends nothing. Injected 500s (after an invoice was created, before and after an attachment)
are resolved by the engine's in-doubt lookups: nothing is created or attached twice. An
expired token stops the pipeline. SYNTHETIC data only.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from syncd_amazon.fixtures import DEMO_VIDR
from syncd_amazon.sandbox import AmazonEmulator
from syncd_amazon.testing import COMPANY_TOML as COMPANY
from syncd_amazon.testing import FAST
from syncd_xentral.sandbox import XentralEmulator

PIPELINE = """
[[pipelines]]
name = "amazon"
source = "amazon"
targets = ["amazon", "xentral"]
schedule = "12h"
"""


@pytest.fixture
def engine_parts():
    try:
        from syncd import daemon
        from syncd.config import load_config
        from syncd.engine import Engine, delivery
        from syncd.plugins import load_plugins
        from syncd.render import plugin as render_plugin
        from syncd.store import Store
    except ImportError as exc:  # the engine is another area's work in progress
        print(f"SKIP: the engine is not importable: {exc}")
        pytest.skip(f"engine not importable: {exc}")
    import inspect

    if "find_step" not in inspect.getsource(delivery):
        print("SKIP: the engine does not run target steps yet (spine v2 engine half)")
        pytest.skip("the engine does not run target steps yet")
    return daemon, load_config, Engine, load_plugins, render_plugin, Store


def _toml(table: str, values: dict) -> str:
    return f"[{table}]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items())


def run_once(engine_parts, path: Path) -> int:
    daemon, load_config, engine_cls, load_plugins, render_plugin, store_cls = engine_parts
    config = load_config(path, load_plugins().registry)
    store = store_cls.open(config.database_url)
    try:
        engine = engine_cls(config, store, extra_plugins=[("render-pdf", render_plugin)])
        return daemon.run(engine, once=True)
    finally:
        store.close()


def documents(engine_parts, path: Path) -> dict:
    _daemon, load_config, _engine, load_plugins, _render, store_cls = engine_parts
    config = load_config(path, load_plugins().registry)
    store = store_cls.open(config.database_url)
    try:
        return {d["source_key"]: d for d in store.list_documents()}
    finally:
        store.close()


@pytest.mark.slow
def test_amazon_to_xentral_once(engine_parts, shared_specs, tmp_path):
    with AmazonEmulator([DEMO_VIDR], speedup=100, fresh_dates=True) as amazon, \
            XentralEmulator(limit=1000, period=1.0) as xentral:
        path = tmp_path / "syncd.toml"
        path.write_text(COMPANY + amazon.config_toml(**FAST, upload_interval="0.05s")
                        + _toml("plugins.xentral", xentral.config_values(
                            create_missing_products=True, create_orders=True)) + PIPELINE)
        xentral.state.fail_next["create:invoices"] = ["after"]  # created, answer lost
        xentral.state.fail_next["attachFile:invoices"] = ["before", "after"]
        run_once(engine_parts, path)
        state = xentral.state
        creates = state.calls("create:invoices")
        numbers_sent = [r.body["documentNumber"] for r in creates]
        assert len(numbers_sent) == len(set(numbers_sent))  # in doubt: looked up, not resent
        assert [r.status for r in creates].count(500) == 1
        assert state.spec_violations == []
        invoices = list(state.documents["invoices"].values())
        notes = list(state.documents["creditNotes"].values())
        docs = documents(engine_parts, path)
        numbers = {n for d in docs.values() for n in d["numbers"]}
        assert invoices and notes
        assert {i["documentNumber"] for i in invoices} <= numbers  # syncd's numbers
        # each with its rendered PDF once: the 500 before attaching was retried, the 500 after
        # attaching was found in the activity log instead of attaching a second copy
        assert len(state.files) == len(invoices) + len(notes)
        assert [r.status for r in state.calls("attachFile:invoices")].count(500) == 2
        assert all(f["keyword"] == "attachment" for f in state.files)
        assert {f["head"] for f in state.files} == {b"%PDF-"}  # the PDFs syncd rendered
        linked = [n for n in notes if n.get("invoice")]
        assert all(n["invoice"]["id"] in state.documents["invoices"] for n in linked)
        # DEMO-S12 reverses INV-2025-000917, issued before syncd: no link to follow
        assert [n["documentNumber"] for n in notes if not n.get("invoice")] == \
            [d["numbers"][0] for k, d in docs.items() if "CorrectionReversal" in k]
        fba = [i for i in invoices if (i.get("project") or {}).get("id") == "3"]
        assert fba and all(i["paymentStatus"] == "paid" for i in fba)
        assert {k: d["state"] for k, d in docs.items() if d["state"] != "done"} == {}
        sent = len(state.requests)

        run_once(engine_parts, path)  # a second run sends nothing new to Xentral
        creates = [r for r in state.requests[sent:] if r.method in ("POST", "PATCH")]
        assert creates == []
        assert len(state.documents["invoices"]) == len(invoices)


@pytest.mark.slow
def test_expired_token_stops_the_pipeline_with_one_line(engine_parts, shared_specs, tmp_path):
    _daemon, load_config, _engine, load_plugins, _render, store_cls = engine_parts
    with AmazonEmulator([DEMO_VIDR], speedup=100, fresh_dates=True) as amazon, \
            XentralEmulator(limit=1000, period=1.0) as xentral:
        xentral.state.token_expired = True
        path = tmp_path / "syncd.toml"
        path.write_text(COMPANY + amazon.config_toml(**FAST, upload_interval="0.05s")
                        + _toml("plugins.xentral", xentral.config_values(
                            create_missing_products=True, create_orders=True))
                        + PIPELINE.replace('["amazon", "xentral"]', '["xentral"]'))
        assert run_once(engine_parts, path) != 0
        config = load_config(path, load_plugins().registry)
        store = store_cls.open(config.database_url)
        try:
            stopped = [e for e in store.events(limit=1000) if e["kind"] == "pipeline-stopped"]
            states = {d["state"] for d in store.list_documents()}
        finally:
            store.close()
        assert len(stopped) == 1 and "180 days" in stopped[0]["message"]
        assert "sandbox-token" not in stopped[0]["message"]
        assert "error" not in states  # nothing failed one by one; all wait for a new token
        assert xentral.state.count("invoices") == 0
