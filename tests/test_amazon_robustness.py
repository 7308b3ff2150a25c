"""Issue 15 items 2-7: throttles are not credential errors, garbage is not permanent,
report-level failures are failures, bad lines name their shipment, the emulator shows what it
received and says which checks ran (SYNTHETIC data)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx
import pytest
from structlog.testing import capture_logs

from syncd.connectors import Rejected
from syncd.errors import ConfigError, InputError, TransientError
from syncd.model import Document
from syncd_amazon.fixtures import DE, DEMO_VIDR, MARKED_COLUMNS, row
from syncd_amazon.sandbox import AmazonEmulator
from syncd_amazon.sandbox.specs import SpecValidator
from syncd_amazon.source import AmazonSource
from syncd_amazon.spapi import SpApiClient
from syncd_amazon.target import AmazonTarget
from syncd_amazon.testing import HtmlPdfRenderer, context, emulator_config
from syncd_amazon.vidr import VidrReader


@pytest.fixture
def emulator():
    with AmazonEmulator([DEMO_VIDR], speedup=100) as emu:
        yield emu


def pending(source: AmazonSource) -> list:
    return [item for batch in source.read(None) for item in batch.items]


def invoice_of(items: list, suffix: str, number: str) -> Document:
    found = next(i for i in items if isinstance(i, Document) and i.source_key.endswith(suffix))
    return found.with_number(number)


# item 2 ------------------------------------------------------------------------------------
def test_a_throttled_token_request_is_backed_off_and_retried(emulator):
    api = SpApiClient(emulator_config(emulator))
    emulator.state.lwa_failures = ["throttled", "throttled"]
    assert api.create_report([DE])
    assert [r.status for r in emulator.state.calls("token")] == [429, 429, 200]
    api.close()


def test_lwa_throttling_beyond_the_retries_is_transient_not_bad_credentials(emulator):
    api = SpApiClient(emulator_config(emulator, retry_attempts=2))
    emulator.state.lwa_failures = ["throttled"] * 5
    with pytest.raises(TransientError) as err:
        api.create_report([DE])
    assert not isinstance(err.value, ConfigError)
    assert err.value.code == "LwaThrottled" and "throttled" in str(err.value)
    assert not emulator.state.calls("createReport")
    emulator.state.lwa_failures = []
    emulator.state.revoked = True  # the real credential error still stops the pipeline
    with pytest.raises(ConfigError, match="invalid_grant"):
        api.create_report([DE])
    api.close()


# item 3 ------------------------------------------------------------------------------------
@pytest.fixture
def target(emulator, tmp_path):
    tgt = AmazonTarget(emulator_config(emulator), context(tmp_path, HtmlPdfRenderer()))
    yield tgt
    tgt.close()


def test_garbled_answers_are_retried_and_the_upload_lands_once(emulator, tmp_path, target):
    source = AmazonSource(emulator_config(emulator), context(tmp_path))
    invoice = invoice_of(pending(source), "DEMO-S03/SHIPMENT/T-S03", "INV-2026-000001")
    for op in ("createFeedDocument", "getFeed", "getFeedDocument"):
        emulator.state.fail_next[op] = ["garbage"]
    ref = target.deliver(invoice)
    (feed,) = emulator.state.feeds.values()
    assert ref.ref == feed.feed_id and not feed.errors
    for op in ("createFeedDocument", "getFeedDocument"):
        assert len(emulator.state.calls(op)) == 2
    source.close()


@pytest.mark.parametrize("operation", ["getFeed", "getFeedDocument", "createFeedDocument"])
def test_garbage_beyond_the_retries_is_transient_with_a_clear_message(emulator, tmp_path,
                                                                     target, operation):
    source = AmazonSource(emulator_config(emulator), context(tmp_path))
    target.deliver(invoice_of(pending(source), "DEMO-S03/SHIPMENT/T-S03", "INV-2026-000001"))
    (feed,) = emulator.state.feeds.values()
    before = len(emulator.state.calls(operation))
    api = SpApiClient(emulator_config(emulator, retry_attempts=2))
    emulator.state.fail_next[operation] = ["garbage", "garbage"]
    call = {"getFeed": lambda: api.get_feed(feed.feed_id),
            "getFeedDocument": lambda: api.get_feed_document(str(feed.result_document_id)),
            "createFeedDocument": lambda: api.create_feed_document("application/pdf")}
    with pytest.raises(TransientError) as err:
        call[operation]()
    text = str(err.value)
    assert err.value.code == "GarbledAnswer"
    assert text.startswith(f"{operation}: Amazon's HTTP 200 answer is not JSON (")
    assert "<html>" in text and "HTTP 200 :" not in text
    assert len(emulator.state.calls(operation)) == before + 2
    api.close()
    source.close()


def test_an_error_status_without_amazons_error_list_is_transient_and_retried(emulator):
    from syncd_amazon.sandbox.proxy import FaultProxy

    path = "/feeds/2021-06-30/documents"
    with FaultProxy(emulator.url, rate=0.0, script={path: ["404-page", "404-page"]}) as proxy:
        api = SpApiClient(emulator_config(emulator, endpoint=proxy.url, retry_attempts=2))
        with pytest.raises(TransientError) as err:
            api.create_feed_document("application/pdf")
        assert err.value.code == "GarbledAnswer"
        assert str(err.value).startswith("createFeedDocument: the HTTP 404 answer is not "
                                         "Amazon's error JSON (")
        assert "<html>404 Not Found" in str(err.value) and "HTTP 404 :" not in str(err.value)
        assert api.create_feed_document("application/pdf")["feedDocumentId"]  # script used up
        assert proxy.faults_seen == [(path, "404-page")] * 2
        api.close()


def test_amazons_own_validation_errors_stay_permanent(emulator):
    from syncd_amazon.errors import SpApiError

    api = SpApiClient(emulator_config(emulator))
    with pytest.raises(SpApiError) as err:
        api.get_feed("does-not-exist")
    assert err.value.status == 404 and "HTTP 404 NotFound:" in str(err.value)
    api.close()


# item 4 ------------------------------------------------------------------------------------
HEADER = "\t".join(MARKED_COLUMNS)


@pytest.mark.parametrize(("body", "reason"), [
    (b"", "the report is empty"),
    (("\t".join(c for c in MARKED_COLUMNS if c != "currency") + "\n").encode(),
     "missing required columns: currency"),
    ((HEADER + "\n").encode("utf-16"), "UTF-16"),
])
def test_a_report_refused_as_a_whole_fails_the_pull_at_error_level(emulator, tmp_path, body,
                                                                    reason):
    emulator.state.report_body = body
    source = AmazonSource(emulator_config(emulator), context(tmp_path))
    with capture_logs() as logs, pytest.raises(InputError, match=reason):
        pending(source)
    errors = [e for e in logs if e["log_level"] == "error"]
    assert errors and errors[0]["event"] == "vidr refused as a whole; the pull fails"
    assert reason in errors[0]["error"] and errors[0]["report_id"]
    source.close()


# item 5 ------------------------------------------------------------------------------------
def test_an_unreadable_line_names_its_shipment(tmp_path):
    good = row(shipping_id="409302381")
    bad = row(shipping_id="409302382", product_name="widget\twith a tab")
    lines = [HEADER] + ["\t".join(r[c] for c in MARKED_COLUMNS) for r in (good, good, bad)]
    reader = VidrReader(iter(line.encode() + b"\n" for line in lines), name="VIDR report 7")
    items = list(reader)
    width = len(MARKED_COLUMNS)
    assert items[2].message == (f"VIDR report 7: line 4, shipment 409302382: expected {width} "
                                f"tab-separated fields, found {width + 1}")


def test_the_shipment_of_an_unreadable_line_becomes_an_error_document(tmp_path):
    bad = row(shipping_id="409302382", product_name="widget\twith a tab")
    path = tmp_path / "vidr.tsv"
    path.write_text(HEADER + "\n" + "\t".join(bad[c] for c in MARKED_COLUMNS) + "\n")
    with AmazonEmulator([], speedup=100) as emu:
        emu.state.report_body = path.read_bytes()
        source = AmazonSource(emulator_config(emu), context(tmp_path))
        (rejected,) = [i for i in pending(source) if isinstance(i, Rejected)]
        assert "line 2, shipment 409302382: expected" in rejected.error
        source.close()


# item 6 ------------------------------------------------------------------------------------
def test_records_endpoint_shows_what_the_emulator_received(emulator, tmp_path, target):
    source = AmazonSource(emulator_config(emulator), context(tmp_path))
    target.deliver(invoice_of(pending(source), "DEMO-S03/SHIPMENT/T-S03", "INV-2026-000001"))
    records = httpx.get(f"{emulator.url}/_records").json()
    (feed,) = records["feeds"]
    assert feed["shipping_id"] == "DEMO-S03" and feed["errors"] == []
    assert feed["options"]["metadata:InvoiceNumber"] == "INV-2026-000001"
    assert len(records["createfeed_times"]) == 1 and records["duplicate_uploads"] == []
    ops = [r["operation"] for r in records["requests"]]
    assert ops.count("createFeed") == 1 and "records" not in ops
    group = next(g for g in records["groups"] if g["shipping_id"] == "DEMO-S03"
                 and g["transaction_type"] == "SHIPMENT")
    assert group["accepted_uploads"] == 1
    assert records["validation"]["violations"] == []
    source.close()


def test_sandbox_command_writes_the_records_file(tmp_path):
    records = tmp_path / "records.json"
    proc = subprocess.Popen([sys.executable, "-m", "syncd", "sandbox", "amazon", "--speedup",
                             "100", "--records", str(records)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url = ""
        assert proc.stdout is not None
        for line in proc.stdout:
            if "Amazon sandbox on " in line:
                url = line.split("Amazon sandbox on ")[1].split()[0]
                break
        deadline = time.monotonic() + 10
        while not records.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert json.loads(records.read_text())["requests"] == []
        httpx.post(f"{url}/auth/o2/token", data={"grant_type": "refresh_token"})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            seen = json.loads(records.read_text())["requests"]
            if seen:
                break
            time.sleep(0.05)
        assert [r["operation"] for r in seen] == ["token"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# item 7 ------------------------------------------------------------------------------------
def test_without_the_models_the_emulators_own_checks_run_and_say_so(tmp_path):
    validator = SpecValidator(tmp_path / "absent")
    assert not validator.enabled
    assert validator.checks.startswith("the emulator's own checks of every required field")
    found = validator.request("createReport", {"marketplaceIds": []})
    assert "(body): 'reportType' is a required property" in found
    assert any("marketplaceIds: 0 item(s)" in f for f in found)
    assert validator.request("createFeed", {"feedType": "X", "marketplaceIds": ["A"],
                                            "inputFeedDocumentId": "1"}) == []
    assert validator.response("getFeed", 200, {"feedId": "1"}) != []
    with AmazonEmulator([DEMO_VIDR], speedup=100, specs_dir=tmp_path / "absent") as emu:
        token = httpx.post(f"{emu.url}/auth/o2/token", data={
            "grant_type": "refresh_token", "refresh_token": emu.refresh_token,
            "client_id": emu.client_id, "client_secret": emu.client_secret,
        }).json()["access_token"]
        answer = httpx.post(f"{emu.url}/reports/2021-06-30/reports", json={"marketplaceIds": []},
                            headers={"x-amz-access-token": token})
        assert answer.status_code == 400 and "reportType" in answer.json()["errors"][0]["details"]
        validation = httpx.get(f"{emu.url}/_records").json()["validation"]
        assert validation["official_models"] is False
        assert "own checks of every required field" in validation["summary"]
        assert emu.validation_summary().endswith(": 2 finding(s)")  # both of that request


def test_with_the_models_the_summary_names_them(emulator, shared_specs):
    assert emulator.specs.enabled
    assert "reports_2021-06-30.json" in emulator.validation_summary()
    assert emulator.validation_summary().endswith(": 0 finding(s)")


# the fault-injecting proxy used by tests/test_amazon_faults.py ----------------------------
def test_fault_proxy_answers_instead_of_amazon_or_spoils_its_answer(emulator):
    from syncd_amazon.sandbox.proxy import FaultProxy

    form = {"grant_type": "refresh_token", "refresh_token": emulator.refresh_token,
            "client_id": emulator.client_id, "client_secret": emulator.client_secret}
    with FaultProxy(emulator.url, rate=1.0, seed=1, faults=("429",)) as proxy:
        assert httpx.post(f"{proxy.url}/auth/o2/token", data=form).status_code == 429
        assert emulator.state.tokens_issued == 0  # never forwarded
    with FaultProxy(emulator.url, rate=1.0, seed=1, faults=("garbage",)) as proxy:
        spoiled = httpx.post(f"{proxy.url}/auth/o2/token", data=form)
        assert spoiled.status_code == 200 and spoiled.text.startswith("<html>")
        assert emulator.state.tokens_issued == 1  # processed, the answer lost
        assert proxy.faults_seen == [("/auth/o2/token", "garbage")]
    with FaultProxy(emulator.url, rate=0.0) as proxy:
        clean = httpx.post(f"{proxy.url}/auth/o2/token", data=form)
        assert clean.status_code == 200 and clean.json()["access_token"].startswith("Atza|")
        assert httpx.get(f"{proxy.url}/_records").json()["tokens_issued"] == 2
