"""Xentral limits and errors: 429 + Retry-After, rate-limit headers, problems, tokens, spec."""

from __future__ import annotations

import time
from datetime import date, timedelta

import httpx
import pytest

from syncd.errors import ConfigError
from syncd_xentral.client import XentralProblem, dumps, filter_params
from syncd_xentral.sandbox import XentralEmulator
from syncd_xentral.testing import amazon_document, job_for, make_target, run_job

ORDER = "302-0000001-0000001"


@pytest.fixture
def emulator(shared_specs):
    with XentralEmulator(products=("PORTO", "SKU-1"), limit=1000, period=1.0) as emu:
        emu.state.add_sales_order(ORDER)
        yield emu


def test_429_with_retry_after_is_waited_out(emulator, tmp_path):
    target = make_target(emulator, tmp_path)
    emulator.state.fail_next["create:invoices"] = ["429"]
    started = time.monotonic()
    result = target.run_step("document", job_for(amazon_document(order_id=ORDER)))
    assert result.ref and time.monotonic() - started >= 0.9  # Retry-After: 1
    statuses = [r.status for r in emulator.state.calls("create:invoices")]
    assert statuses == [429, 201] and emulator.state.count("invoices") == 1


def test_instance_limit_exhausted_by_others_is_waited_out(shared_specs, tmp_path):
    """syncd paces faster than the window allows (another client shares the instance)."""
    with XentralEmulator(products=("PORTO", "SKU-1"), limit=4, period=1.0) as emu:
        emu.state.add_sales_order(ORDER)
        target = make_target(emu, tmp_path, requests_per_minute=6000)
        for i in range(3):
            run_job(target, job_for(amazon_document(f"INV-{i}", order_id=ORDER)))
        assert emu.state.count("invoices") == 3 and len(emu.state.files) == 3
        throttled = [r for r in emu.state.requests if r.status == 429]
        assert throttled  # the window was hit, each 429 retried after Retry-After
        assert all(r.operation != "create:invoices" or r.status in (201, 429)
                   for r in emu.state.requests)


def test_window_exhausted_answers_429_with_headers(emulator):
    emulator.state.rate.limit = 1
    emulator.state.rate.start = time.time()
    emulator.state.rate.used = 1
    answer = httpx.get(f"{emulator.url}/api/v3/products",
                       headers={"Authorization": "Bearer sandbox-token"})
    assert answer.status_code == 429 and answer.json() == {"message": "Too Many Requests"}
    assert answer.headers["X-RateLimit-Remaining"] == "0"
    assert int(answer.headers["Retry-After"]) >= 1 and "X-RateLimit-Reset" in answer.headers


def test_spec_violation_is_caught_by_the_emulator(emulator, tmp_path):
    target = make_target(emulator, tmp_path)
    invoice = target.run_step("document", job_for(amazon_document(order_id=ORDER)))
    body = {"keyword": "pdf", "fileName": "x.pdf", "title": 7}
    with pytest.raises(XentralProblem) as info:
        target.api.call("POST", f"/api/v3/invoices/{invoice.ref}/files", body=body)
    message = str(info.value)
    assert "HTTP 400 Request payload validation failed." in message
    assert "keyword:" in message and "title:" in message and "(body):" in message
    assert len(emulator.state.spec_violations) == 3
    assert emulator.state.files == []


def test_problem_line_names_every_violated_field(emulator, tmp_path):
    target = make_target(emulator, tmp_path)
    body = {"address": {"id": "nope"}, "documentDate": "30.11.2026",
            "lineItems": [{"product": {"id": "1"}, "quantity": 1}]}
    with pytest.raises(XentralProblem) as info:
        target.api.call("POST", "/api/v3/invoices", body=body)
    assert "documentDate:" in str(info.value) and info.value.violations


def test_expired_token_stops_the_pipeline_and_says_so(emulator, tmp_path):
    target = make_target(emulator, tmp_path)
    emulator.state.token_expired = True
    with pytest.raises(ConfigError, match="expire after at most 180 days") as info:
        target.run_step("document", job_for(amazon_document(order_id=ORDER)))
    assert "401" in str(info.value) and "sandbox-token" not in str(info.value)
    with pytest.raises(ConfigError, match="180 days"):
        target.check()


def test_check_reports_a_token_past_its_expiry_date(emulator, tmp_path):
    past = date.today() - timedelta(days=1)
    target = make_target(emulator, tmp_path, token_expires=past.isoformat())
    with pytest.raises(ConfigError, match=f"expired on {past.isoformat()}"):
        target.check()
    soon = make_target(emulator, tmp_path,
                       token_expires=(date.today() + timedelta(days=3)).isoformat())
    soon.check()
    assert "expires on" in soon.status_warnings()[0]


def test_wrong_token_is_a_config_error(emulator, tmp_path):
    target = make_target(emulator, tmp_path, token="wrong")
    with pytest.raises(ConfigError, match="401"):
        target.check()


def test_decimals_are_written_exactly_and_filters_deep_object():
    from decimal import Decimal

    assert dumps({"a": Decimal("12.34"), "b": [Decimal("0.1")]}) == b'{"a": 12.34, "b": [0.1]}'
    with pytest.raises(ValueError):
        dumps({"a": Decimal("1.23456789012345678")})
    assert filter_params([("number", "in", ["A", "B"])]) == [
        ("filter[0][key]", "number"), ("filter[0][op]", "in"),
        ("filter[0][value][]", "A"), ("filter[0][value][]", "B")]


def test_emulator_checks_required_fields_without_the_specs(tmp_path):
    with XentralEmulator(specs_dir=tmp_path / "absent", limit=1000, period=1.0) as emu:
        assert not emu.specs.enabled and "not available" in emu.specs.reason
        answer = httpx.post(f"{emu.url}/api/v3/invoices", json={"lineItems": [{}]},
                            headers={"Authorization": "Bearer sandbox-token"})
        assert answer.status_code == 400
        assert answer.headers["Content-Type"] == "application/problem+json"
        assert set(answer.json()["violations"]) >= {"address", "lineItems.0.product"}


def test_config_refuses_a_broken_series_and_a_collective_without_id():
    from pydantic import ValidationError

    from syncd_xentral.config import XentralConfig

    base = {"enabled": True, "base_url": "https://x.xentral.biz", "token": "t",
            "collective_customer_id": "1"}
    with pytest.raises(ValidationError, match="invoice_series"):
        XentralConfig.model_validate({**base, "invoice_series": "INV-{nope}"})
    with pytest.raises(ValidationError, match="collective_customer_id"):
        XentralConfig.model_validate({**base, "collective_customer_id": None})
    assert XentralConfig.model_validate({**base, "customer": "per-buyer",
                                         "collective_customer_id": None})


def test_emulator_refuses_filters_the_list_operation_does_not_document(emulator):
    params = filter_params([("isDeleted", "in", ["1"]), ("sku", "equals", "A")])
    answer = httpx.get(f"{emulator.url}/api/v3/products", params=params,
                       headers={"Authorization": "Bearer sandbox-token"})
    assert answer.status_code == 400
    assert set(answer.json()["violations"]) == {"filter.0.op", "filter.1.key"}
    assert len(emulator.state.spec_violations) == 2


ISSUE_TABLE = """
[plugins.xentral]
enabled = true
base_url = "https://mycompany.xentral.biz"
token = "secret-token-value"
project_fba = "3"
project_fbm = "4"
create_orders = false
mark_fba_paid = true
customer = "collective"
collective_customer_id = "1001"
shipping_product = "PORTO"
discount_product = "RABATT"
giftwrap_product = "GESCHENK"
create_missing_products = false
"""


def test_the_issues_config_keys_are_the_plugins_keys():
    """Every key of the documented table is read under that name (unknown keys are refused,
    so a renamed key fails here), and the token stays masked."""
    import tomllib

    from syncd_xentral.config import XentralConfig

    table = tomllib.loads(ISSUE_TABLE)["plugins"]["xentral"]
    config = XentralConfig.model_validate(table)
    assert {k: getattr(config, k) for k in table if k not in ("base_url", "token")} == {
        k: v for k, v in table.items() if k not in ("base_url", "token")}
    assert str(config.base_url).rstrip("/") == table["base_url"]
    assert "secret-token-value" not in repr(config)
    assert config.token.get_secret_value() == "secret-token-value"


def test_v1_problem_shapes_become_one_line_with_field_paths():
    """v1 mirrors the payload (nested, or an array of objects) and lists conflict items."""
    from syncd_xentral.client import problem_error

    def problem(body):
        return problem_error("Xentral PATCH /api/v1/invoices/7/status", httpx.Response(
            400, json=body, headers={"Content-Type": "application/problem+json"}))

    nested = problem({"type": "https://api.xentral.biz/problems/request-validation",
                      "title": "Request payload validation failed.",
                      "violations": [{"billingAddress": {"name": ["Must not be blank."]}},
                                     {"positions": [{"quantity": ["Must be positive."]}]}]})
    assert str(nested) == ("Xentral PATCH /api/v1/invoices/7/status: HTTP 400 Request payload "
                           "validation failed. (billingAddress.name: Must not be blank. | "
                           "positions.0.quantity: Must be positive.)")
    assert set(nested.violations) == {"billingAddress.name", "positions.0.quantity"}
    conflict = problem({"type": "https://api.xentral.biz/problems/conflictItems",
                        "title": "Conflict", "items": [{"id": "17", "title": "Invoice",
                                                        "messages": ["already paid"]}]})
    assert "(17: already paid)" in str(conflict) and "\n" not in str(conflict)


def test_an_answer_echoing_the_token_never_puts_it_in_an_error(emulator, tmp_path):
    """Error lines go to the state database, where no log masker runs."""
    target = make_target(emulator, tmp_path, token="tok-xentral-9f8e7d6c")
    echoed = "Bearer tok-xentral-9f8e7d6c"
    answers = [httpx.Response(400, json={"title": "Bad", "violations": {"h": [echoed]}}),
               httpx.Response(401, json={"detail": f"token {echoed} expired"}),
               httpx.Response(502, text=f"proxy saw Authorization: {echoed}"),
               httpx.Response(404, text=echoed)]
    for answer in answers:
        with pytest.raises(Exception) as info:
            target.api._result("GET", "/api/v3/products", answer)
        assert "tok-xentral-9f8e7d6c" not in str(info.value), answer.status_code
