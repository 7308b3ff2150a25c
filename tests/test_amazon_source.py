"""AmazonSource.read against the emulator (SYNTHETIC demo VIDR)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest

from syncd.connectors import Rejected, Skipped, Verdict, Window
from syncd.errors import InputError
from syncd.model import Document
from syncd_amazon.fixtures import DE, DEMO_VIDR, FR, row, write_vidr
from syncd_amazon.sandbox import AmazonEmulator
from syncd_amazon.source import AmazonSource
from syncd_amazon.testing import context, emulator_config


@pytest.fixture
def emulator():
    with AmazonEmulator([DEMO_VIDR], speedup=100) as emu:
        yield emu


def make_source(emulator, tmp_path, batch_size: int = 200) -> AmazonSource:
    ctx = context(tmp_path)
    ctx.settings = SimpleNamespace(engine=SimpleNamespace(batch_size=batch_size))
    return AmazonSource(emulator_config(emulator), ctx)


def read_all(source: AmazonSource, window: Window | None = None) -> list:
    return [item for batch in source.read(None, window) for item in batch.items]


def test_pending_view_yields_documents_and_skips(emulator, tmp_path):
    source = make_source(emulator, tmp_path)
    items = read_all(source)
    docs = {i.source_key: i for i in items if isinstance(i, Document)}
    assert len(docs) == 14
    assert f"{DE}/DEMO-S01/RETURN/R-S01" in docs
    assert [i.source_key for i in items if isinstance(i, Skipped)] == [
        f"{DE}/DEMO-S08/SHIPMENT/T-S08"]
    assert not [i for i in items if isinstance(i, Rejected | Verdict)]
    (create,) = emulator.state.calls("createReport")
    assert "reportOptions" not in create.body
    assert len(emulator.state.calls("getReport")) == 2  # polled until DONE
    assert not emulator.state.spec_violations
    # the shipment date with its time, for the 24-hour deadline (status_warnings)
    shipped = docs[f"{DE}/DEMO-S01/SHIPMENT/T-S01"].extra["amazon:shipment-date"]
    assert datetime.fromisoformat(shipped).tzinfo is not None


def test_batches_carry_the_old_cursor_until_the_last(emulator, tmp_path):
    source = make_source(emulator, tmp_path, batch_size=4)
    batches = list(source.read({"report_id": "old"}))
    assert len(batches) >= 4
    assert all(b.cursor == {"report_id": "old"} for b in batches[:-1])
    assert batches[-1].cursor["view"] == "pending"
    assert batches[-1].cursor["report_id"] != "old"


def test_fatal_report_raises_with_amazons_text(emulator, tmp_path):
    emulator.state.report_fatal = "Seller is not registered for VCS in DE"
    with pytest.raises(InputError, match=r"FATAL.*not registered for VCS"):
        read_all(make_source(emulator, tmp_path))


def test_cancelled_report_means_no_data(tmp_path):
    with AmazonEmulator([], speedup=100) as emu:
        batches = list(make_source(emu, tmp_path).read(None))
    assert len(batches) == 1 and batches[0].items == []
    assert batches[0].cursor["view"] == "pending"


def test_reload_uses_all_view_in_windows_of_at_most_30_days(emulator, tmp_path):
    source = make_source(emulator, tmp_path)
    items = read_all(source, Window(date(2026, 10, 10), date(2026, 11, 24)))
    creates = emulator.state.calls("createReport")
    assert len(creates) == 2
    for call in creates:
        assert call.body["reportOptions"] == {"ReportOption=All": "true"}
        assert call.body["dataStartTime"] < call.body["dataEndTime"]
    assert creates[0].body["dataStartTime"] == "2026-10-10T00:00:00Z"
    assert creates[1].body["dataEndTime"] == "2026-11-23T23:59:59Z"
    assert len([i for i in items if isinstance(i, Document)]) == 14
    assert AmazonSource.max_window.days == 30


def test_cp1252_with_bom_uncompressed_and_no_charset(emulator, tmp_path):
    state = emulator.state
    state.report_gzip, state.report_bom = False, True
    state.report_encoding, state.report_content_type = "cp1252", "text/tab-separated-values"
    items = read_all(make_source(emulator, tmp_path))
    export = next(i for i in items if isinstance(i, Document)
                  and i.source_key.endswith("DEMO-S07/SHIPMENT/T-S07"))
    assert export.shipping_address is not None and export.shipping_address.city == "Zürich"


def test_rejected_status_in_the_pending_view_is_a_verdict(tmp_path):
    vidr = write_vidr(tmp_path / "v.tsv", [
        row(shipping_id="R-1", invoice_status="InvoiceRejected",
            invoice_status_description="79517 order unknown"),
        row(shipping_id="R-2", marketplace_id=FR),
    ])
    asked = datetime.now(UTC)
    with AmazonEmulator([vidr], speedup=100) as emu:
        items = read_all(make_source(emu, tmp_path))
    (verdict,) = [i for i in items if isinstance(i, Verdict)]
    assert verdict.source_key == f"{DE}/R-1/SHIPMENT/TX0001"
    # the VIDR names no feed: the verdict says when the report was asked for
    assert verdict.observed_at is not None
    assert asked <= verdict.observed_at <= datetime.now(UTC)
    assert verdict.accepted is False and verdict.message == "79517 order unknown"
    assert verdict.code == "79517"
    assert len([i for i in items if isinstance(i, Document)]) == 2
