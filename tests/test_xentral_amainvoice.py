"""Amainvoice → Xentral end to end (the seed's flow) through the engine and both emulators.

Invoices with lines and their Amainvoice PDFs, credit notes linked to their invoices and
keeping their own numbers, FBA invoices paid, expert-mode orders created first; a second run
sends nothing. Runs once the Amainvoice plugin and the engine's steps are on main.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from syncd_xentral.sandbox import XentralEmulator

amainvoice = pytest.importorskip("syncd_amainvoice.sandbox",
                                 reason="the Amainvoice plugin is not installed (yet)")

PIPELINE = """
[engine]
backoff_base = "0.05s"
backoff_max = "0.2s"

[[pipelines]]
name = "amainvoice-xentral"
source = "amainvoice"
targets = ["xentral"]
schedule = "1h"
"""


def _toml(table: str, values: dict) -> str:
    lines = [f"[{table}]"]
    for key, value in values.items():
        text = value.isoformat() if hasattr(value, "isoformat") else value
        lines.append(f"{key} = {json.dumps(text)}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def run(tmp_path):
    import inspect

    try:
        from syncd import daemon
        from syncd.config import load_config
        from syncd.engine import Engine, delivery
        from syncd.plugins import load_plugins
        from syncd.store import Store
    except ImportError as exc:
        pytest.skip(f"engine not importable: {exc}")
    if "find_step" not in inspect.getsource(delivery):
        print("SKIP: the engine does not run target steps yet (spine v2 engine half)")
        pytest.skip("the engine does not run target steps yet")

    def once(path: Path) -> dict:
        config = load_config(path, load_plugins().registry)
        store = Store.open(config.database_url)
        try:
            daemon.run(Engine(config, store), once=True)
            return {d["source_key"]: d for d in store.list_documents()}
        finally:
            store.close()

    return once


@pytest.mark.slow
def test_amainvoice_to_xentral_once(run, shared_specs, tmp_path):
    probe = amainvoice.AmainvoiceEmulator()
    start = probe.today() - timedelta(days=2)
    # the emulator's data is drawn per calendar day: take a seed whose two days hold a refund;
    # no late rows (an invoice that shows up on the second fetch would be news to run two)
    dataset = next(d for seed in range(11, 200) if (d := amainvoice.Dataset(
        start, 2, per_day=8, seed=seed, refund_ratio=0.25, split_ratio=0.2,
        late_ratio=0.0)).numbers("rem"))
    with amainvoice.AmainvoiceEmulator(dataset, rate=50) as source, \
            XentralEmulator(limit=1000, period=1.0) as xentral:
        path = tmp_path / "syncd.toml"
        values = source.config_values(lookback="3d", orders=True)
        path.write_text(_toml("plugins.amainvoice", values) + _toml(
            "plugins.xentral", xentral.config_values(create_missing_products=True,
                                                     create_orders=True)) + PIPELINE)
        docs = run(path)
        state = xentral.state
        assert state.spec_violations == []
        assert {k: d["state"] for k, d in docs.items() if d["state"] != "done"} == {}
        invoices = list(state.documents["invoices"].values())
        notes = list(state.documents["creditNotes"].values())
        orders = state.documents["salesOrders"]
        assert len(invoices) >= 8 and notes and orders
        print(f"xentral got {len(invoices)} invoices, {len(notes)} credit notes, "
              f"{len(orders)} orders, {len(state.files)} files")
        assert all(i["salesOrder"]["id"] in orders for i in invoices)
        seen = list(state.requests)
        made = {r.body["externalOrderNumber"]: n for n, r in enumerate(seen)
                if r.operation == "create:salesOrders" and r.status == 201}
        assert len(made) == len(orders)  # expert mode: every order created by syncd, once
        for n, r in enumerate(seen):  # ... before the invoice that links it
            if r.operation == "create:invoices" and r.status == 201:
                invoice = state.by_number("invoices", r.body["documentNumber"])
                order = orders[invoice["salesOrder"]["id"]]["externalOrderNumber"]
                assert made[order] < n
        assert all(n["invoice"]["id"] in state.documents["invoices"] for n in notes)
        numbers = {n for d in docs.values() for n in d["numbers"]}
        assert {n["documentNumber"] for n in notes} <= numbers  # Amainvoice's own numbers
        assert all(i["lineItems"] and i["status"] == "released" for i in invoices)
        assert len(state.files) == len(invoices) + len(notes)  # each its Amainvoice PDF once
        assert {f["keyword"] for f in state.files} == {"attachment"}
        assert {f["head"] for f in state.files} == {b"%PDF-"}
        fba = [i for i in invoices if (i.get("project") or {}).get("id") == "3"]
        fbm = [i for i in invoices if (i.get("project") or {}).get("id") == "4"]
        assert fba and fbm and len(fba) + len(fbm) == len(invoices)
        assert all(i["paymentStatus"] == "paid" for i in fba)
        assert all(i["paymentStatus"] == "pending" for i in fbm)  # paid only when FBA
        sent = len(state.requests)

        run(path)  # a second run sends nothing
        assert [r for r in state.requests[sent:] if r.method in ("POST", "PATCH")] == []
