"""The emulator speaks lexoffice's contract: schema, window, bucket, dedup, envelopes."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

from syncd_lexoffice import lookup
from syncd_lexoffice.client import LexofficeApi
from syncd_lexoffice.sandbox import LexofficeEmulator
from syncd_lexoffice.sandbox.validation import VoucherValidator
from syncd_lexoffice.testing import make_job, make_target, sample_document

HEADERS = {"Authorization": "Bearer sandbox-api-key", "Content-Type": "application/json"}


@pytest.fixture
def emulator():
    with LexofficeEmulator(rate=1000) as emu:
        yield emu


def post(emu, body):
    return httpx.post(f"{emu.url}/v1/vouchers", content=json.dumps(body), headers=HEADERS)


def valid_body(emu, **changes):
    body = {"type": "salesinvoice", "voucherNumber": "X-1", "voucherDate": "2026-03-14",
            "totalGrossAmount": 119.0, "totalTaxAmount": 19.0, "taxType": "gross",
            "useCollectiveContact": True, "voucherItems": [
                {"amount": 119.0, "taxAmount": 19.0, "taxRatePercent": 19,
                 "categoryId": emu.state.categories[0]["id"]}]}
    body.update(changes)
    return body


def test_schema_from_the_shared_specs_is_used(emulator, shared_specs):
    assert emulator.validator.schema_source.endswith("voucher-create.schema.json")
    answer = post(emulator, valid_body(emulator, voucherStatus="paid"))
    assert answer.status_code == 406
    assert answer.json()["IssueList"][0]["source"] == "voucherStatus"
    answer = post(emulator, {k: v for k, v in valid_body(emulator).items() if k != "taxType"})
    assert answer.json()["IssueList"] == [{"i18nKey": "missing_entity", "source": "taxType",
                                           "type": "validation_failure",
                                           "additionalData": None, "args": None}]
    assert post(emulator, valid_body(emulator)).status_code == 201


def test_without_the_schema_file_required_fields_are_still_checked(tmp_path):
    validator = VoucherValidator(tmp_path)
    assert "own required-field checks" in validator.schema_source
    found = validator.schema_issues({"type": "salesinvoice", "voucherItems": [{"amount": 1}]})
    sources = {f["source"] for f in found}
    assert {"voucherDate", "taxType", "voucherItems[0].categoryId"} <= sources


def test_rules_beyond_the_schema(emulator):
    answer = post(emulator, valid_body(emulator, totalGrossAmount=118.99))
    assert answer.json()["IssueList"][0]["source"] == "totalGrossAmount"
    answer = post(emulator, valid_body(emulator, contactId="0b7c5b0c-4a7b-4b8e-9d55-6c1e3e0d3f11",
                                       contactName="Max"))
    keys = {i["i18nKey"] for i in answer.json()["IssueList"]}
    assert "custom_contact_name_for_referenced_contact_not_allowed" in keys


def test_token_bucket_answers_429_with_the_gateway_body():
    with LexofficeEmulator(rate=2) as emu:
        answers = [httpx.get(f"{emu.url}/v1/profile", headers=HEADERS) for _ in range(4)]
        assert [a.status_code for a in answers][:2] == [200, 200]
        assert answers[-1].status_code == 429
        assert answers[-1].json() == {"message": "Rate limit exceeded"}


def test_voucherlist_window_and_paging(emulator):
    emulator.state.seed(600, date(2026, 1, 1), 3)
    emulator.state.window = 500
    url = f"{emulator.url}/v1/voucherlist"
    params = {"voucherType": "salesinvoice", "voucherStatus": "any", "size": 250}
    first = httpx.get(url, params={**params, "page": 0}, headers=HEADERS).json()
    assert first["totalElements"] == 600 and first["totalPages"] == 3 and not first["last"]
    beyond = httpx.get(url, params={**params, "page": 2}, headers=HEADERS)
    assert beyond.status_code == 400
    assert beyond.json()["message"] == "Maximum search window size exceeded"
    assert httpx.get(url, params={"voucherType": "any"}, headers=HEADERS).status_code == 400


def test_lookup_splits_a_range_over_the_10000_window_by_date(tmp_path):
    with LexofficeEmulator(rate=1000) as emu:
        start = date(2026, 3, 1)
        emu.state.seed(10_400, start, 20)
        docs = [sample_document(f"w{i}", issue=start + timedelta(days=i)) for i in range(20)]
        twin = sample_document("SEED-7", number="SEED-7", lines=[("1.00", "0.19")],
                               issue=start + timedelta(days=7))
        target = make_target(emu, tmp_path, rate=1000.0)
        target.prepare([make_job(d) for d in [*docs, twin]])
        assert emu.state.count(status=400) == 0
        assert target._index.covers(start) and target._index.covers(start + timedelta(days=19))
        assert sum(len(v) for v in target._index.by_number.values()) == 10_400
        found = target.run_step("voucher", make_job(twin))
        assert found.detail["found"] is True and emu.state.count(method="POST") == 0
        # a single-document lookup uses the number filter and the day only
        api = LexofficeApi(target.api.http)
        assert lookup.find_one(api, twin).number == "SEED-7"


def test_files_are_deduplicated_by_checksum(emulator):
    ids = [post(emulator, valid_body(emulator, voucherNumber=n)).json()["id"] for n in "AB"]
    auth = {"Authorization": HEADERS["Authorization"]}

    def attach(voucher, data):
        return httpx.post(f"{emulator.url}/v1/vouchers/{voucher}/files", headers=auth,
                          files={"file": ("a.pdf", data, "application/pdf")})

    first, again = attach(ids[0], b"%PDF same"), attach(ids[0], b"%PDF same")
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    other = attach(ids[1], b"%PDF same")
    assert other.status_code == 406 and other.json()["IssueList"][0]["source"] == "file"
    assert attach(ids[1], b"%PDF" + b"0" * (5 * 1024 * 1024)).status_code == 406


def test_emulator_cli_and_registration(emulator):
    from syncd_lexoffice.sandbox import command

    assert command.name == "lexoffice" and LexofficeEmulator.command is command
    from importlib.metadata import entry_points

    assert any(ep.name == "lexoffice" and ep.value == "syncd_lexoffice.plugin"
               for ep in entry_points(group="syncd.plugins"))
    from syncd.plugins import load_plugins
    from syncd_lexoffice.demo import LexofficeDemo
    from syncd_lexoffice.target import LexofficeTarget

    registry = load_plugins(only={"lexoffice"}).registry
    assert registry.sandboxes["lexoffice"] is LexofficeEmulator
    assert registry.demos["lexoffice"] is LexofficeDemo
    assert registry.targets["lexoffice"] is LexofficeTarget


def test_demo_part(tmp_path: Path):
    from syncd_lexoffice.demo import LexofficeDemo

    part = LexofficeDemo()
    table = part.start(tmp_path)
    try:
        assert table["enabled"] is True and table["base_url"].startswith("http://127.0.0.1:")
        assert part.pipelines({"lexoffice"}) == part.pipelines({"amazon", "lexoffice"}) == []
        assert table["requests_per_second"] == 2.0
        assert "0 voucher(s)" in part.notes()[0]
    finally:
        part.stop()
