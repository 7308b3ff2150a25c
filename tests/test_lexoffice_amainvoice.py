"""Amainvoice → lexoffice through the engine and both emulators (SYNTHETIC data): invoices and
credit notes keep Amainvoice's numbers and carry Amainvoice's PDFs, each voucher once despite
504s after creation, opt-in paid; a second run sends nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
import tomli_w

from syncd import daemon
from syncd.config import load_config
from syncd.engine import Engine
from syncd.plugins import load_plugins
from syncd.store import Store
from syncd_lexoffice.sandbox import LexofficeEmulator

amainvoice = pytest.importorskip("syncd_amainvoice.sandbox",
                                 reason="the Amainvoice plugin is not installed")
from syncd_amainvoice.testing import FAST  # noqa: E402


def run_once(path):
    config = load_config(path, load_plugins().registry)
    store = Store.open(config.database_url)
    try:
        daemon.run(Engine(config, store), once=True, handle_signals=False)
        return {d["source_key"]: d for d in store.list_documents(limit=1000)}
    finally:
        store.close()


def test_amainvoice_documents_become_vouchers_with_their_pdfs_once(tmp_path):
    start = amainvoice.AmainvoiceEmulator().today() - timedelta(days=2)
    dataset = next(d for seed in range(11, 200) if (d := amainvoice.Dataset(
        start, 2, per_day=6, seed=seed, refund_ratio=0.25, late_ratio=0.0)).numbers("rem"))
    with amainvoice.AmainvoiceEmulator(dataset, rate=50) as source, \
            LexofficeEmulator(rate=50, destination_principle=True) as lexoffice:
        lexoffice.state.inject("POST", r"^/v1/vouchers$", 504, after_effect=True, times=3,
                               every=2)
        data = {"engine": {"backoff_base": "0.05s", "backoff_max": "0.2s", "max_attempts": 8},
                "plugins": {"amainvoice": {**source.config_values(lookback="3d"), **FAST},
                            "lexoffice": lexoffice.config(mark_paid=True)},
                "pipelines": [{"name": "amainvoice-lexoffice", "source": "amainvoice",
                               "targets": ["lexoffice"], "schedule": "1h"}]}
        path = tmp_path / "syncd.toml"
        path.write_text(tomli_w.dumps(data), encoding="utf-8")
        docs = run_once(path)
        for _ in range(3):  # the 504s leave some deliveries waiting for their lookup
            if {d["state"] for d in docs.values()} == {"done"}:
                break
            docs = run_once(path)
        assert {k: d["state"] for k, d in docs.items() if d["state"] != "done"} == {}
        state = lexoffice.state
        vouchers = list(state.vouchers.values())
        assert state.count(status=504) == 3
        assert len(vouchers) == len(docs) == len(dataset.numbers("inv")) + len(
            dataset.numbers("rem"))
        numbers = [v.body["voucherNumber"] for v in vouchers]
        assert sorted(numbers) == sorted(set(numbers))  # each once
        assert set(numbers) == set(dataset.numbers("inv")) | set(dataset.numbers("rem"))
        assert {v.body["type"] for v in vouchers} == {"salesinvoice", "salescreditnote"}
        assert all(len(v.files) == 1 for v in vouchers)
        assert all(data.startswith(b"%PDF") for _i, _v, data in state.files.values())
        invoices = {v.id for v in vouchers if v.body["type"] == "salesinvoice"}
        assert sorted(p["voucher"] for p in state.payments) == sorted(invoices)
        assert all(v.body["remark"].startswith("amainvoice ") for v in vouchers)
        sent = state.count(method="POST") + state.count(method="PUT", prefix="/")
        run_once(path)  # a second run sends nothing
        assert state.count(method="POST") + state.count(method="PUT", prefix="/") == sent
        assert state.count(status=429) == 0
