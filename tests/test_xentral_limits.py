"""Xentral's announced limits, token scopes and the emulator's OpenAPI rules beyond bodies."""

from __future__ import annotations

import time
from datetime import date, timedelta

import httpx
import pytest

from syncd.errors import ConfigError
from syncd_xentral.client import XentralAuthError
from syncd_xentral.sandbox import XentralEmulator
from syncd_xentral.testing import amazon_document, job_for, make_target

ORDER = "302-0000001-0000001"
AUTH = {"Authorization": "Bearer sandbox-token"}


def _products(target) -> None:
    target.api.call("GET", "/api/v3/products", params=[("perPage", "1")])


def test_a_lower_announced_limit_is_followed_by_the_shared_limiter(shared_specs, tmp_path):
    with XentralEmulator(limit=30, period=60.0) as emu:
        target = make_target(emu, tmp_path, requests_per_minute=100)
        pacer = target.api.http.pacer
        assert pacer.limit.requests == 100
        _products(target)  # X-RateLimit-Limit: 30
        assert pacer.limit.requests == 30 and pacer.limit.key.startswith("xentral:")
        emu.state.rate.limit = 500  # raised again: back up, but never past the configured 100
        _products(target)
        assert pacer.limit.requests == 100


def test_no_request_left_with_a_reset_time_waits_for_the_window(shared_specs, tmp_path):
    """A server that sends X-RateLimit-Reset with `Remaining: 0` is waited out, not hit."""
    with XentralEmulator(limit=3, period=1.0) as emu:
        emu.state.rate.reset_always = True
        target = make_target(emu, tmp_path, requests_per_minute=6000)
        started = time.monotonic()
        for _ in range(5):
            _products(target)
        assert [r.status for r in emu.state.requests] == [200] * 5  # no 429 at all
        assert time.monotonic() - started >= 0.5  # one window's reset was waited for


def test_a_token_without_a_scope_stops_with_the_scope_named(shared_specs, tmp_path):
    with XentralEmulator(products=("PORTO", "SKU-1"), limit=1000, period=1.0) as emu:
        emu.state.add_sales_order(ORDER)
        target = make_target(emu, tmp_path)
        job = job_for(amazon_document(order_id=ORDER))
        job = job.with_step("document", target.run_step("document", job))
        emu.state.scopes = {"invoice:create", "invoice:read", "product:read",
                            "salesOrder:read"}  # no invoice:update: files are refused
        with pytest.raises(ConfigError, match="invoice:update") as info:
            target.run_step("pdf", job)
        assert isinstance(info.value, XentralAuthError) and info.value.status == 403
        assert "403 Forbidden" in str(info.value) and "sandbox-token" not in str(info.value)
        assert emu.state.files == [] and emu.state.spec_violations == []
        emu.state.scopes = set()
        with pytest.raises(ConfigError, match="product:read"):
            target.check()


def test_a_401_says_that_the_configured_expiry_has_passed(shared_specs, tmp_path):
    with XentralEmulator(limit=1000, period=1.0) as emu:
        past = date.today() - timedelta(days=2)
        target = make_target(emu, tmp_path, token_expires=past.isoformat())
        emu.state.token_expired = True
        with pytest.raises(ConfigError) as info:
            _products(target)
        text = str(info.value)
        assert f"token_expires = {past.isoformat()} has passed" in text
        assert "has expired" in text and "180 days" in text  # Xentral's detail, then the hint


def test_emulator_validates_with_openapi_3_0_rules(shared_specs):
    """`nullable` (OpenAPI 3.0, not JSON Schema) is honoured; a wrong type still is not."""
    with XentralEmulator(limit=1000, period=1.0) as emu:
        specs = emu.specs
        assert specs.errors("patch", "/api/v1/invoices/{id}", {"project": None}) == []
        wrong = specs.errors("patch", "/api/v1/invoices/{id}", {"project": 5})
        assert [path for path, _ in wrong] == ["project"]
        assert specs.scopes("post", "/api/v3/invoices/{id}/files") == ["invoice:update"]


def test_emulator_refuses_query_parameters_off_the_spec(shared_specs):
    with XentralEmulator(limit=1000, period=1.0) as emu:
        order = emu.state.add_sales_order(ORDER)
        ok = httpx.get(f"{emu.url}/api/v3/salesOrders/{order}",
                       params={"include": "activity"}, headers=AUTH)
        assert ok.status_code == 200
        bad = httpx.get(f"{emu.url}/api/v3/salesOrders/{order}",
                        params={"include": "activity,files", "expand": "1"}, headers=AUTH)
        assert bad.status_code == 400
        assert set(bad.json()["violations"]) == {"include.1", "expand"}
        paged = httpx.get(f"{emu.url}/api/v3/products", params={"perPage": "many"},
                          headers=AUTH)
        assert paged.status_code == 400 and set(paged.json()["violations"]) == {"perPage"}
        assert len(emu.state.spec_violations) == 3
