"""LWA and SP-API client behaviour against the Amazon emulator (SYNTHETIC data)."""

from __future__ import annotations

import itertools

import httpx
import pytest
from structlog.testing import capture_logs

from syncd.errors import TransientError
from syncd_amazon.errors import AmazonAuthError
from syncd_amazon.fixtures import DE, DEMO_VIDR
from syncd_amazon.ratelimit import UploadPacer, as_limit
from syncd_amazon.sandbox import AmazonEmulator
from syncd_amazon.sandbox.specs import SpecValidator
from syncd_amazon.spapi import SpApiClient
from syncd_amazon.testing import emulator_config


@pytest.fixture
def emulator():
    with AmazonEmulator([DEMO_VIDR], speedup=100) as emu:
        yield emu


@pytest.fixture
def client(emulator):
    api = SpApiClient(emulator_config(emulator))
    yield api
    api.close()


def test_token_is_cached_and_refreshed_when_amazon_refuses_it(emulator, client):
    rid = client.create_report([DE])
    client.get_report(rid)
    client.get_report(rid)
    assert emulator.state.tokens_issued == 1
    emulator.state.expire_tokens()
    assert client.get_report(rid)["reportId"] == rid
    assert emulator.state.tokens_issued == 2
    statuses = [r.status for r in emulator.state.calls("getReport")]
    assert statuses == [200, 200, 403, 200]


def test_token_is_refreshed_60_seconds_before_it_expires(emulator, client):
    emulator.state.token_lifetime = 60  # expires_in - 60 s leaves nothing to cache
    rid = client.create_report([DE])
    client.get_report(rid)
    assert emulator.state.tokens_issued == 2


def test_429_storm_is_survived(emulator, client):
    emulator.state.throttle_next["createReport"] = 5
    rid = client.create_report([DE])
    assert rid
    statuses = [r.status for r in emulator.state.calls("createReport")]
    assert statuses == [429] * 5 + [202]


def test_429_beyond_the_retry_budget_is_transient(emulator):
    api = SpApiClient(emulator_config(emulator, retry_attempts=3))
    emulator.state.throttle_next["getReport"] = 10
    with pytest.raises(TransientError) as err:
        api.get_report("1")
    assert err.value.code == "QuotaExceeded"
    assert len(emulator.state.calls("getReport")) == 3


def test_missing_tax_invoicing_role_is_explained(emulator, client):
    emulator.state.roles.clear()
    with pytest.raises(AmazonAuthError) as err:
        client.create_report([DE])
    assert '"Tax Invoicing" role' in str(err.value)
    assert emulator.state.tokens_issued == 1  # a role problem is not a token problem


def test_revoked_refresh_token_stops_with_advice(emulator, client):
    emulator.state.revoked = True
    with pytest.raises(AmazonAuthError) as err:
        client.create_report([DE])
    assert "invalid_grant: the refresh token was revoked; re-authorize the app" in str(err.value)
    assert err.value.code == "invalid_grant"
    assert not emulator.state.calls("createReport")


def test_wrong_client_secret_is_not_retried(emulator):
    api = SpApiClient(emulator_config(emulator, client_secret="wrong"))
    with pytest.raises(AmazonAuthError, match="invalid_client"):
        api.lwa.access_token()
    assert len(emulator.state.calls("token")) == 1


def test_lwa_server_errors_are_retried(emulator, client):
    emulator.state.lwa_failures = ["server_error", "temporarily_unavailable"]
    assert client.lwa.access_token().startswith("Atza|")
    assert [r.status for r in emulator.state.calls("token")] == [500, 503, 200]


def test_lwa_outage_is_transient(emulator):
    api = SpApiClient(emulator_config(emulator, retry_attempts=2))
    emulator.state.lwa_failures = ["server_error"] * 5
    with pytest.raises(TransientError, match="Login with Amazon is unavailable"):
        api.lwa.access_token()


def test_request_id_is_logged_and_tokens_never(emulator, client):
    with capture_logs() as logs:
        client.create_report([DE])
    calls = [e for e in logs if e["event"] == "sp-api call"]
    assert calls and calls[0]["request_id"] and calls[0]["operation"] == "createReport"
    assert "Atza|" not in repr(logs) and "Atzr|" not in repr(logs)
    assert "sandbox-client-secret" not in repr(logs)


def test_rate_limit_header_updates_the_bucket(emulator, client):
    client.create_report([DE])
    assert client.limits.rate("createReport") == pytest.approx(0.0167 * 100)
    limit = client.limits.limit("createReport")
    assert limit is not None and limit.requests == 15
    assert limit.per == pytest.approx(15 / 1.67)


def test_amazon_budgets_map_onto_core_limits_and_the_pacer_spaces_answers():
    limit = as_limit("amazon:x:createFeed", 0.0083, 15)
    assert (limit.requests, limit.key) == (15, "amazon:x:createFeed")
    assert limit.per == pytest.approx(15 / 0.0083)  # never more than Amazon's bucket admits
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds
    pacer = UploadPacer(3.0, clock=lambda: now[0], sleep=sleep)
    starts = []
    for _ in range(3):
        with pacer.slot():
            starts.append(now[0])
            now[0] += 0.5  # the createFeed call itself takes time
    assert [b - a for a, b in itertools.pairwise(starts)] == [3.5, 3.5]


def test_emulator_validates_bodies_against_the_official_models(emulator, shared_specs):
    assert emulator.specs.enabled
    token = httpx.post(f"{emulator.url}/auth/o2/token", data={
        "grant_type": "refresh_token", "refresh_token": emulator.refresh_token,
        "client_id": emulator.client_id, "client_secret": emulator.client_secret,
    }).json()["access_token"]
    response = httpx.post(f"{emulator.url}/reports/2021-06-30/reports",
                          json={"marketplaceIds": []},
                          headers={"x-amz-access-token": token})
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["code"] == "InvalidInput"
    assert "reportType" in error["details"] and "marketplaceIds" in error["details"]
    assert response.headers["x-amzn-RequestId"]
    assert response.headers["x-amzn-RateLimit-Limit"]


def test_emulator_runs_without_models(tmp_path):
    validator = SpecValidator(tmp_path / "absent")
    assert not validator.enabled
    assert "not available" in validator.reason
    assert validator.request("createReport", {"reportType": "R", "marketplaceIds": ["M"]}) == []


def test_a_fresh_token_refused_again_stops_with_advice(emulator, client):
    emulator.state.token_lifetime = 0  # every token is expired on arrival
    with pytest.raises(AmazonAuthError, match="freshly issued access token"):
        client.create_report([DE])
    assert [r.status for r in emulator.state.calls("createReport")] == [403, 403]


def test_check_proves_credentials_and_role(emulator, client):
    client.verify_access()
    assert [r.status for r in emulator.state.calls("getReport")] == [404]
    emulator.state.roles.clear()
    with pytest.raises(AmazonAuthError, match="Tax Invoicing"):
        client.verify_access()
