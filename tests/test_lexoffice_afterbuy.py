"""The seed's flow, Afterbuy → lexoffice, through the engine against both emulators: the
invoice list and Afterbuy's PDFs become vouchers, opt-in marked paid, each exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest
import tomli_w

from syncd.config import load_config
from syncd.engine import Engine
from syncd.errors import ConfigError
from syncd.plugins import load_plugins
from syncd.store import Store

afterbuy_sandbox = pytest.importorskip("syncd_afterbuy.sandbox",
                                       reason="the afterbuy plugin is not installed")
from syncd_afterbuy.sandbox.generator import generate  # noqa: E402
from syncd_lexoffice.sandbox import LexofficeEmulator  # noqa: E402

FAST = {"backoff_base": "10ms", "backoff_max": "50ms", "max_attempts": 8}
PIPELINE = "afterbuy-lexoffice"


@pytest.fixture
def flow(tmp_path):
    export = generate(12)
    with afterbuy_sandbox.AfterbuyEmulator(export.invoices) as afterbuy, \
            LexofficeEmulator(rate=50) as lexoffice:
        made = []

        def make(**lexoffice_keys):
            data = {"engine": FAST,
                    "plugins": {"afterbuy": afterbuy.config_values(rate_limit=100),
                                "lexoffice": lexoffice.config(**lexoffice_keys)},
                    "pipelines": [{"name": PIPELINE, "source": "afterbuy",
                                   "targets": ["lexoffice"]}]}
            path = tmp_path / "syncd.toml"
            path.write_text(tomli_w.dumps(data), encoding="utf-8")
            config = load_config(path, load_plugins().registry)
            store = Store.open(config.database_url)
            engine = Engine(config, store)
            made.append(engine)
            store.inbox_add(PIPELINE, "Rechnungsliste.csv", export.data, "test")
            return engine, config.settings.pipelines[0], store

        yield export, lexoffice, make
        for engine in made:
            engine.close()
            engine.store.close()


def run_until_settled(engine, pipeline, store, cycles=8):
    for _ in range(cycles):
        engine.run_cycle(pipeline)
        states = {d.source_key: d.state for d in store.list_documents(pipeline=PIPELINE)}
        if states and set(states.values()) <= {"done", "error"}:
            return states
    return states


def test_vouchers_with_pdfs_marked_paid_exactly_once_despite_504s(flow):
    export, lexoffice, make = flow
    lexoffice.state.inject("POST", r"^/v1/vouchers$", 504, after_effect=True, times=3, every=3)
    lexoffice.state.inject("PUT", r"/payment/", 502, after_effect=True, times=1, every=2)
    engine, pipeline, store = make(mark_paid=True)
    states = run_until_settled(engine, pipeline, store)
    assert set(states.values()) == {"done"}, states
    vouchers = {v.body["voucherNumber"]: v for v in lexoffice.state.vouchers.values()}
    assert len(vouchers) == len(lexoffice.state.vouchers) == len(export.invoices)
    assert sorted(vouchers) == sorted(export.numbers)  # Afterbuy's numbers, each once
    assert lexoffice.state.count(status=504) == 3
    paid = {p["voucher"]: p for p in lexoffice.state.payments}
    for invoice in export.invoices:
        voucher = vouchers[invoice.number]
        assert voucher.body["type"] == ("salescreditnote" if invoice.credit else "salesinvoice")
        assert voucher.gross == abs(invoice.gross) and len(voucher.files) == 1
        if invoice.credit:
            assert voucher.id not in paid  # credit notes stay open
        else:
            assert voucher.status == "paid" and paid[voucher.id]["method"] == "personal"
            day = invoice.issue_date + timedelta(days=0 if invoice.payment == "Rechnung" else 1)
            assert paid[voucher.id]["postingDate"] == day.isoformat()  # "Bezahlt am"
    assert len(lexoffice.state.payments) == len(paid)  # never paid twice
    assert lexoffice.state.violations == []
    sent = lexoffice.state.count(method="POST") + lexoffice.state.count(method="PUT", prefix="/")
    engine.run_cycle(pipeline)  # a second run sends nothing
    assert lexoffice.state.count(method="POST") + lexoffice.state.count(
        method="PUT", prefix="/") == sent


def test_a_login_challenge_stops_the_pipeline_after_the_vouchers(flow):
    _export, lexoffice, make = flow
    lexoffice.state.login_challenge = True
    engine, pipeline, _store = make(mark_paid=True)
    with pytest.raises(ConfigError, match="second factor"):
        engine.run_cycle(pipeline)
    assert lexoffice.state.payments == [] and lexoffice.state.logins == 1
    assert len(lexoffice.state.vouchers) >= 1
