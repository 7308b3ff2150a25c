"""The source against the emulator: cursor, lookback and late rows, throttling, budget, errors,
reloads, `.tax`, PDFs and the folder transport (SYNTHETIC data)."""

from __future__ import annotations

import io
import json
import os
from datetime import timedelta

import pypdf
import pytest

from syncd.connectors import Rejected, Window
from syncd.errors import ConfigError, InputError, PermanentError, TransientError
from syncd.model import Document
from syncd_amainvoice.sandbox import AmainvoiceEmulator, Dataset
from syncd_amainvoice.testing import close_sources, drain, make_source


@pytest.fixture(autouse=True)
def _closed():
    yield
    close_sources()


def today():
    return AmainvoiceEmulator().today()


def documents(items) -> dict[str, Document]:
    return {i.source_key: i for i in items if isinstance(i, Document)}


def numbers(items, prefix):
    return {d.number for k, d in documents(items).items() if k.startswith(prefix)}


@pytest.fixture
def emulator():
    dataset = Dataset(today() - timedelta(days=6), 6, per_day=12, refund_ratio=0.3,
                      late_ratio=0.2, split_ratio=0.3)
    with AmainvoiceEmulator(dataset, rate=1000) as emu:
        yield emu


def test_a_cycle_fetches_every_day_then_only_the_lookback(emulator, tmp_path):
    source = make_source(tmp_path, emulator, lookback="2d")
    items, cursor = drain(source)
    days = emulator.dataset.days
    assert source.last_stats["requests"] == 2 * days + 1  # .inv + .rem per day, .tax once
    assert cursor["through"] == (today() - timedelta(days=1)).isoformat()
    assert not any(isinstance(i, Rejected) for i in items)
    emulator.requests.clear()
    items2, cursor2 = drain(source, cursor)
    got = sorted((r["data_type"], r["start_date"]) for r in emulator.received())
    lookback = [(today() - timedelta(days=n)).isoformat() for n in (2, 1)]
    assert got == sorted((k, d) for d in lookback for k in ("inv", "rem"))  # no .tax again
    assert cursor2["through"] == cursor["through"]
    assert {d.issue_date.isoformat() for d in documents(items2).values()} <= set(lookback)


def test_late_rows_change_documents_on_a_later_fetch(emulator, tmp_path):
    source = make_source(tmp_path, emulator, lookback="6d")
    first, cursor = drain(source)
    second, _ = drain(source, cursor)
    one, two = documents(first), documents(second)
    late_docs = [d for day in range(6) for d in emulator.dataset.invoices(
        emulator.dataset.start + timedelta(days=day)) if d.late]
    assert late_docs, "the dataset has late rows"
    for doc in late_docs:
        key = f"invoice:{doc.number}"
        if doc.late == set(range(len(doc.rows))):
            assert key not in one and key in two  # came late: a new document
        else:
            assert two[key].content_hash != one[key].content_hash  # grew: a revision
            assert len(two[key].lines) > len(one[key].lines)
    assert numbers(second, "invoice:") | numbers(first, "invoice:") == \
        emulator.dataset.numbers("inv")
    assert numbers(second, "credit_note:") == emulator.dataset.numbers("rem")
    unchanged = [k for k in one if k in two and not any(k.endswith(d.number) for d in late_docs)]
    assert unchanged and all(one[k].content_hash == two[k].content_hash for k in unchanged)


def test_throttling_backs_off_and_finishes_within_the_same_read(tmp_path):
    dataset = Dataset(today() - timedelta(days=8), 8, per_day=3)
    with AmainvoiceEmulator(dataset, rate=6, per=0.3) as emu:
        emu.inject("*", ["throttle-text"] * 3 + ["throttle-json"] * 3)
        source = make_source(tmp_path, emu, concurrency=4, requests_per_second=50)
        items, cursor = drain(source)
        assert source.last_stats["throttled"] >= 6 and source.last_stats["errors"] == 0
        assert cursor["through"] == (today() - timedelta(days=1)).isoformat()
        hidden = {d.number for n in range(8) for d in dataset.invoices(
            dataset.start + timedelta(days=n)) if d.late == set(range(len(d.rows)))}
        assert numbers(items, "invoice:") == dataset.numbers("inv") - hidden


def test_a_used_up_time_budget_leaves_the_rest_for_the_next_cycle_at_the_same_day(tmp_path):
    dataset = Dataset(today() - timedelta(days=10), 10, per_day=2)
    with AmainvoiceEmulator(dataset, rate=1000, latency=0.15) as emu:
        source = make_source(tmp_path, emu, concurrency=1, time_budget="0.5s", lookback="0d")
        _, cursor = drain(source)  # no exception: running out of time fails nothing
        assert source.last_stats["left_for_next_cycle"] > 0
        through = cursor.get("through")
        assert through is None or through < (today() - timedelta(days=1)).isoformat()
        emu.requests.clear()
        rest = make_source(tmp_path, emu, concurrency=4, lookback="0d")
        _, cursor2 = drain(rest, cursor)
        first_asked = min(r["start_date"] for r in emu.received() if r.get("start_date"))
        expected = (dataset.start if through is None
                    else (dataset.start.fromisoformat(through) + timedelta(days=1)))
        assert first_asked <= expected.isoformat()
        assert cursor2["through"] == (today() - timedelta(days=1)).isoformat()


def test_one_bad_answer_fails_only_its_unit_and_is_fetched_again(emulator, tmp_path):
    bad = emulator.dataset.start + timedelta(days=2)
    emulator.inject(f"{bad.isoformat()}.inv", ["html"])
    source = make_source(tmp_path, emulator)
    cursor = None
    with pytest.raises(InputError) as err:
        for batch in source.read(None):
            cursor = batch.cursor or cursor
    assert f"{bad.isoformat()}.inv" in str(err.value) and "not JSON" in str(err.value)
    assert "1 of 13 requests failed" in str(err.value)
    assert f"{bad.isoformat()}.inv" not in cursor.get("done", [])
    assert cursor["through"] < bad.isoformat()  # the day stays outstanding
    emulator.requests.clear()
    drain(make_source(tmp_path, emulator, lookback="0d"), cursor)
    assert (f"{bad.isoformat()}", "inv") in {(r["start_date"], r["data_type"])
                                              for r in emulator.received()}


def test_wrong_credentials_stop_the_read_at_once(emulator, tmp_path):
    source = make_source(tmp_path, emulator, auth_token="wrong")
    with pytest.raises(ConfigError, match="auth_token"):
        drain(source)


def test_a_reload_fetches_its_window_whatever_the_cursor_says(emulator, tmp_path):
    source = make_source(tmp_path, emulator)
    _, cursor = drain(source)
    emulator.requests.clear()
    start = emulator.dataset.start + timedelta(days=1)
    items, after = drain(source, cursor, Window(start, start + timedelta(days=2)))
    assert after == cursor  # a reload never moves the cycle's cursor
    assert sorted((r["start_date"], r["data_type"]) for r in emulator.received()) == sorted(
        (d.isoformat(), k) for d in (start, start + timedelta(days=1)) for k in ("inv", "rem"))
    assert numbers(items, "invoice:") == {d.number for n in (0, 1) for d in
                                          emulator.dataset.invoices(start + timedelta(days=n))}


def test_a_reload_of_days_the_remote_refuses_is_a_clear_error_naming_the_range(emulator,
                                                                                 tmp_path):
    source = make_source(tmp_path, emulator)
    old = today() - timedelta(days=100)
    with pytest.raises(InputError) as err:
        drain(source, None, Window(old, old + timedelta(days=3)))
    text = str(err.value)
    assert f"Amainvoice reload {old}..{old + timedelta(days=2)}" in text
    assert text == (f"Amainvoice reload {old}..{old + timedelta(days=2)}: the remote refuses "
                    f"days this old: 6 of 6 requests, days {old}..{old + timedelta(days=2)}, "
                    "answered 'start_date is older than two months'; it serves about 62 days "
                    "back (Xentral's module allowed two months), so from about "
                    f"{today() - timedelta(days=62)} on")


def test_a_cycle_whose_start_date_the_remote_refuses_says_how_to_stop_asking(emulator,
                                                                            tmp_path):
    old = today() - timedelta(days=64)
    source = make_source(tmp_path, emulator, start_date=old.isoformat(), lookback="0d")
    cursor = None
    with pytest.raises(InputError) as err:
        for batch in source.read(None):
            cursor = batch.cursor or cursor
    text = str(err.value)
    refused = today() - timedelta(days=63)
    assert text.startswith(f"Amainvoice: the remote refuses days this old: 4 of 129 requests, "
                           f"days {old}..{refused}, answered 'start_date is older than two "
                           "months'")
    assert text.endswith("; every cycle asks again until start_date is moved past them")
    assert cursor.get("through") is None  # nothing after the refused days is skipped
    assert f"{(today() - timedelta(days=1)).isoformat()}.inv" in cursor["done"]


def test_days_are_fetched_concurrently(tmp_path):
    dataset = Dataset(today() - timedelta(days=6), 6, per_day=2)
    with AmainvoiceEmulator(dataset, rate=1000, latency=0.1) as emu:
        source = make_source(tmp_path, emu, concurrency=6)
        drain(source)
        assert source.last_stats["requests"] == 13
    assert source.last_stats["max_in_flight"] > 1
    assert source.last_stats["rows"] > 0


def test_tax_data_is_kept_in_the_cursor_and_fetched_once_a_day(emulator, tmp_path):
    source = make_source(tmp_path, emulator)
    _, cursor = drain(source)
    tax = cursor["tax"]
    assert tax["day"] == today().isoformat()
    assert {(e["list"], e["country"], e["vat_number"], e["threshold_country"], e["since"])
            for e in tax["countries"]} == {
        ("thresholdCountries", "FR", "FR00999999999", True, "2021-07-01"),
        ("thresholdCountries", "IT", "IT00999999999", True, "2022-03-01"),
        ("closedThresholds", "ES", None, False, "2023-01-01")}
    emulator.requests.clear()
    drain(source, cursor)
    assert not [r for r in emulator.received() if r["data_type"] == "basicdatatax"]


def test_the_pdf_is_fetched_lazily_and_a_failed_download_names_the_status(emulator, tmp_path):
    source = make_source(tmp_path, emulator, lookback="0d")
    items, _ = drain(source)
    doc = next(d for d in documents(items).values() if d.kind.value == "invoice")
    assert not emulator.pdf_requests  # nothing downloaded while reading
    [attachment] = doc.attachments
    emulator.fail_pdf(doc.number, [404, 503])
    with pytest.raises(PermanentError) as err:
        source.fetch_attachment(doc, attachment)
    assert "HTTP 404" in str(err.value) and doc.number in str(err.value)
    assert err.value.code == "404"
    with pytest.raises(TransientError, match="HTTP 503"):
        source.fetch_attachment(doc, attachment)
    data = source.fetch_attachment(doc, attachment)  # what a reset does: fetch again
    assert data.startswith(b"%PDF-")
    page = pypdf.PdfReader(io.BytesIO(data)).pages[0]  # a real, readable PDF
    assert doc.number in page.extract_text()


def test_the_folder_transport_reads_files_and_rereads_changed_ones(tmp_path):
    dataset = Dataset(today() - timedelta(days=3), 3, per_day=5, refund_ratio=0.4)
    folder = tmp_path / "amainvoice"
    dataset.write_folder(folder)
    source = make_source(tmp_path, None, transport="folder", folder="amainvoice",
                         start_date=dataset.start.isoformat())
    items, cursor = drain(source)
    assert numbers(items, "invoice:") == dataset.numbers("inv")
    assert numbers(items, "credit_note:") == dataset.numbers("rem")
    assert cursor["tax"]["countries"] and len(cursor["files"]) == 7
    again, cursor2 = drain(source, cursor)
    assert again == [] and cursor2 == cursor
    changed = folder / f"{dataset.start.isoformat()}.inv"
    rows = json.loads(changed.read_text())[:2]
    changed.write_text(json.dumps(rows))
    os.utime(changed, ns=(1, 1))
    items3, _ = drain(source, cursor)
    assert numbers(items3, "invoice:") == {r["inv_rech_nr"] for r in rows}


def test_the_folder_transport_names_a_broken_file_and_reads_pdfs_beside_it(tmp_path):
    dataset = Dataset(today() - timedelta(days=2), 2, per_day=2)
    folder = tmp_path / "in"
    dataset.write_folder(folder)
    broken = folder / f"{dataset.start.isoformat()}.rem"
    broken.write_text("[{")
    source = make_source(tmp_path, None, transport="folder", folder=str(folder),
                         start_date=dataset.start.isoformat())
    with pytest.raises(InputError) as err:
        drain(source)
    assert str(broken) in str(err.value)
    items, _ = drain(make_source(tmp_path, None, transport="folder", folder=str(folder),
                                 start_date=(dataset.start + timedelta(days=1)).isoformat()))
    doc = next(iter(documents(items).values()))
    with pytest.raises(PermanentError, match="cannot read"):
        source.fetch_attachment(doc, doc.attachments[0])
    (folder / doc.attachments[0].url).write_bytes(b"%PDF-1.4 test")
    assert source.fetch_attachment(doc, doc.attachments[0]) == b"%PDF-1.4 test"


def test_the_gate_halves_requests_in_flight_on_throttling_and_grows_them_back():
    """AIMD: concurrency follows what the remote's throttle allows (a fake clock that moves
    a millisecond per look, so nothing sleeps)."""
    from syncd_amainvoice.fetcher import Gate, Stats

    now = [100.0]

    def clock() -> float:
        now[0] += 0.001
        return now[0]

    gate = Gate(4, rate=1000, pause=1.0, pause_max=3.0, deadline=None, clock=clock)
    stats = Stats()
    for _ in range(4):
        gate.acquire(stats)
    assert stats.max_in_flight == 4
    gate.release("throttled")
    assert (gate.allowed, gate.pause) == (2, 2.0)
    assert gate._paused_until == pytest.approx(101.0, abs=0.1)
    gate.release("throttled", retry_after=5)  # a Retry-After longer than the pause wins
    assert (gate.allowed, gate.pause) == (1, 3.0)
    assert gate._paused_until == pytest.approx(105.0, abs=0.1)
    gate.release("ok")
    gate.release("ok")
    assert gate.allowed == 2 and gate.pause == 1.0  # one more per `allowed` successes
    now[0] = 106.0  # after the pause
    for _ in range(3):
        gate.acquire(stats)
        gate.release("ok")
    assert gate.allowed == 3
    for _ in range(8):
        gate.acquire(stats)
        gate.release("ok")
    assert gate.allowed == 4  # never above `concurrency`
