"""End to end through the real engine: synthetic source → lexoffice emulator."""

from __future__ import annotations

import pytest
import tomli_w

from syncd.config import load_config
from syncd.engine import Engine
from syncd.errors import ConfigError
from syncd.plugins import load_plugins
from syncd.store import Store
from syncd_lexoffice.sandbox import LexofficeEmulator

COMPANY = {"name": "Test Handel GmbH", "address": ["Teststraße 1"], "postal_code": "04103",
           "city": "Leipzig", "country": "DE", "vat_ids": {"DE": "DE999999999"}}
FAST = {"backoff_base": "10ms", "backoff_max": "50ms", "max_attempts": 6}


@pytest.fixture
def emulator():
    with LexofficeEmulator(rate=50) as emu:
        yield emu


@pytest.fixture
def run(tmp_path, emulator, syncd_plugin):
    """run(count, **lexoffice keys) -> (engine, pipeline, store); cycles with engine.run_cycle."""
    made = []

    def make(count=10, options=None, **lexoffice):
        data = {
            "company": COMPANY,
            "engine": FAST,
            "plugins": {"testing": {"enabled": True, "count": count, "batch": 50},
                        "lexoffice": emulator.config(**lexoffice)},
            "pipelines": [{"name": "to-lexoffice", "source": "synthetic",
                           "targets": ["lexoffice"],
                           "options": {"lexoffice": options or {}}}],
        }
        path = tmp_path / "syncd.toml"
        path.write_text(tomli_w.dumps(data), encoding="utf-8")
        config = load_config(path, load_plugins(extra=[syncd_plugin]).registry)
        store = Store.open(config.database_url)
        engine = Engine(config, store, extra_plugins=[syncd_plugin])
        made.append(engine)
        return engine, config.settings.pipelines[0], store

    yield make
    for engine in made:
        engine.close()
        engine.store.close()


def numbers(emulator):
    return sorted(v.body["voucherNumber"] for v in emulator.state.vouchers.values())


def test_each_document_becomes_one_voucher_with_its_pdf(run, emulator):
    engine, pipeline, store = run(count=12, options={"remark_prefix": "syncd"})
    engine.run_cycle(pipeline)
    assert store.counts() == {"to-lexoffice": {"done": 12}}
    assert len(numbers(emulator)) == len(set(numbers(emulator))) == 12
    for voucher in emulator.state.vouchers.values():
        assert len(voucher.files) == 1 and voucher.body["remark"].startswith("syncd, ")
    pdf = next(iter(emulator.state.files.values()))[2]
    assert pdf.startswith(b"%PDF")
    sent = emulator.state.count(method="POST")
    engine.run_cycle(pipeline)  # a second run sends nothing
    assert emulator.state.count(method="POST") == sent
    assert emulator.state.count(status=429) == 0


def test_injected_504s_after_creation_end_with_each_voucher_exactly_once(run, emulator):
    emulator.state.inject("POST", r"^/v1/vouchers$", 504, after_effect=True, times=4, every=2)
    emulator.state.inject("POST", r"/files$", 500, after_effect=True, times=2, every=3)
    engine, pipeline, store = run(count=10)
    for _ in range(6):
        engine.run_cycle(pipeline)
        if store.counts() == {"to-lexoffice": {"done": 10}}:
            break
    assert store.counts() == {"to-lexoffice": {"done": 10}}
    assert len(numbers(emulator)) == len(set(numbers(emulator))) == 10
    assert all(len(v.files) == 1 for v in emulator.state.vouchers.values())
    assert emulator.state.count(status=504) == 4


def test_mark_paid_runs_as_its_own_step(run, emulator):
    engine, pipeline, store = run(count=3, mark_paid=True)
    engine.run_cycle(pipeline)
    assert store.counts() == {"to-lexoffice": {"done": 3}}
    assert len(emulator.state.payments) == 3 and emulator.state.violations == []


def test_refused_key_stops_the_pipeline_without_hammering(run, emulator):
    engine, pipeline, _store = run(count=5, api_key="wrong-key")
    for _cycle in range(3):  # the daemon runs the stopped pipeline again each poll interval
        with pytest.raises(ConfigError, match="401 Unauthorized"):
            engine.run_cycle(pipeline)
    assert emulator.state.count(status=401) == 1 and emulator.state.count() == 1
    assert emulator.state.vouchers == {}


@pytest.mark.parametrize("step", ["voucher", "file", "paid"])
def test_a_worker_dying_after_a_step_landed_repeats_nothing(run, emulator, monkeypatch, step):
    """Each step's crash point: the remote call succeeded, the worker died before the engine
    committed it; the next worker looks that step up and runs only what is missing."""
    import contextlib

    import sqlalchemy as sa

    from syncd.store.schema import deliveries
    from syncd_lexoffice.target import LexofficeTarget

    original = LexofficeTarget.run_step

    def dying(self, name, job):
        result = original(self, name, job)
        if name == step:
            raise SystemExit("killed")  # not an error the engine handles: a dying worker
        return result

    engine, pipeline, store = run(count=3, mark_paid=True)
    monkeypatch.setattr(LexofficeTarget, "run_step", dying)
    engine.pull(pipeline)
    with contextlib.suppress(SystemExit):
        engine.deliver(pipeline)
    monkeypatch.setattr(LexofficeTarget, "run_step", original)
    engine.close()
    assert len(emulator.state.vouchers) == 1  # the first document got as far as `step`
    with store.tx() as conn:  # the lease of the dead worker runs out
        conn.execute(deliveries.update().values(
            lease_expires_at=sa.select(deliveries.c.created_at).scalar_subquery()))
    other = Engine(engine.config, store, host=engine.host)
    try:
        other.run_cycle(pipeline)
    finally:
        other.close()
    assert store.counts() == {"to-lexoffice": {"done": 3}}
    assert len(numbers(emulator)) == len(set(numbers(emulator))) == 3
    assert all(len(v.files) == 1 for v in emulator.state.vouchers.values())
    paid = [p["voucher"] for p in emulator.state.payments]
    assert sorted(paid) == sorted(emulator.state.vouchers)  # each paid exactly once
    posts = emulator.state.received.where(lambda r: r.method == "POST")
    assert sum(r.path == "/v1/vouchers" for r in posts) == 3  # no voucher posted twice
    assert sum(r.path.endswith("/files") for r in posts) == 3  # nor a file
