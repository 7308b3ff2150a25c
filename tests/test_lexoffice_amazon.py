"""Amazon → [amazon, lexoffice] through the engine, against both emulators (SYNTHETIC data)."""

from __future__ import annotations

import pytest
import tomli_w

from syncd import daemon
from syncd.config import load_config
from syncd.engine import Engine
from syncd.plugins import load_plugins
from syncd.render import plugin as render_plugin
from syncd.store import Store
from syncd_amazon.fixtures import DEMO_VIDR
from syncd_amazon.sandbox import AmazonEmulator
from syncd_amazon.testing import FAST
from syncd_lexoffice.sandbox import LexofficeEmulator

COMPANY = {"name": "Synthetic GmbH", "address": ["Musterweg 1"], "postal_code": "04103",
           "city": "Leipzig", "country": "DE",
           "vat_ids": {"DE": "DE999999999", "FR": "FR00999999999", "IT": "IT00999999999"}}


@pytest.fixture
def emulators():
    with AmazonEmulator([DEMO_VIDR], speedup=100, fresh_dates=True) as amazon, \
            LexofficeEmulator(rate=50, destination_principle=True) as lexoffice:
        yield amazon, lexoffice


def run_once(path):
    config = load_config(path, load_plugins().registry)
    store = Store.open(config.database_url)
    try:
        code = daemon.run(Engine(config, store, extra_plugins=[("render-pdf", render_plugin)]),
                          once=True, handle_signals=False)
        return code, {d["source_key"]: d for d in store.list_documents(limit=1000)}
    finally:
        store.close()


def test_amazon_documents_become_lexoffice_vouchers_once(emulators, tmp_path):
    amazon, lexoffice = emulators
    data = {"company": COMPANY, "engine": {"backoff_base": "0.05s", "backoff_max": "0.2s"},
            "plugins": {"amazon": amazon.config_values(**FAST, upload_interval="0.05s"),
                        "lexoffice": lexoffice.config()},
            "pipelines": [{"name": "amazon-lexoffice", "source": "amazon",
                           "targets": ["amazon", "lexoffice"], "schedule": "12h"}]}
    path = tmp_path / "syncd.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    code, docs = run_once(path)
    errors = {key: doc["error"] for key, doc in docs.items() if doc["state"] == "error"}
    assert code == 1  # the PLN shipment cannot be a lexoffice voucher
    pln = errors.pop("A1C3SOZRARQ6R3/DEMO-S11/SHIPMENT/T-S11")
    assert "currency PLN: lexoffice bookkeeping vouchers are EUR only" in pln
    assert errors == {}  # credit notes name their invoice through the source's Link
    vouchers = list(lexoffice.state.vouchers.values())
    done = [d for d in docs.values() if d["state"] == "done"]
    assert len(vouchers) == len(done) == 13  # 11 invoices + 3 credit notes - the PLN one
    credit = [v for v in vouchers if v.body["type"] == "salescreditnote"]
    assert len(credit) == 3
    assert all("credit note for invoice INV-" in v.body["remark"] for v in credit)
    assert all(len(v.files) == 1 for v in vouchers)
    # one number per document: the Amazon series, the same number Amazon received
    uploaded = {f.options["metadata:InvoiceNumber"] for f in amazon.state.feeds.values()}
    assert {v.body["voucherNumber"] for v in vouchers} <= uploaded
    types = {v.body["type"] for v in vouchers}
    assert types == {"salesinvoice", "salescreditnote"}
    names = {c["id"]: c["name"] for c in lexoffice.state.categories}
    used = {names[i["categoryId"]] for v in vouchers for i in v.body["voucherItems"]}
    assert {"Warenverkäufe", "Innergemeinschaftliche Lieferung"} <= used
    for v in vouchers:
        assert v.body["remark"].startswith(("amazon order ", "amazon shipment "))
        assert "marketplace Amazon." in v.body["remark"]
    sent = lexoffice.state.count(method="POST")
    run_once(path)
    assert lexoffice.state.count(method="POST") == sent  # a second run sends nothing
    assert lexoffice.state.count(status=429) == 0


def test_amazon_with_504s_after_creation_and_mark_paid_ends_with_each_voucher_once(
        emulators, tmp_path):
    amazon, lexoffice = emulators
    lexoffice.state.inject("POST", r"^/v1/vouchers$", 504, after_effect=True, times=3, every=3)
    data = {"company": COMPANY, "engine": {"backoff_base": "0.05s", "backoff_max": "0.2s",
                                           "max_attempts": 8},
            "plugins": {"amazon": amazon.config_values(**FAST, upload_interval="0.05s"),
                        "lexoffice": lexoffice.config(mark_paid=True)},
            "pipelines": [{"name": "amazon-lexoffice", "source": "amazon",
                           "targets": ["amazon", "lexoffice"], "schedule": "12h"}]}
    path = tmp_path / "syncd.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    for _ in range(4):  # the 504s leave deliveries waiting for their lookup
        _code, docs = run_once(path)
        if {d["state"] for d in docs.values()} <= {"done", "error"}:
            break
    states = {key: doc["state"] for key, doc in docs.items()}
    assert sorted(states.values()).count("error") == 1  # the PLN shipment only
    vouchers = list(lexoffice.state.vouchers.values())
    assert lexoffice.state.count(status=504) == 3
    numbers = [v.body["voucherNumber"] for v in vouchers]
    assert len(vouchers) == 13 and len(set(numbers)) == 13  # each exactly once
    assert all(len(v.files) == 1 for v in vouchers)
    invoices = sorted(v.id for v in vouchers if v.body["type"] == "salesinvoice")
    assert sorted(p["voucher"] for p in lexoffice.state.payments) == invoices  # paid once
    assert lexoffice.state.violations == []  # the API key never went to the web app
    sent = lexoffice.state.count(method="POST") + lexoffice.state.count(method="PUT", prefix="/")
    run_once(path)
    assert lexoffice.state.count(method="POST") + lexoffice.state.count(
        method="PUT", prefix="/") == sent  # a second run sends nothing
