"""Every answer shape of Amainvoice's form-POST transport (spec README), parsed and served."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from syncd.errors import ConfigError, InputError, TransientError
from syncd_amainvoice.sandbox import AmainvoiceEmulator, Dataset
from syncd_amainvoice.transport import HttpTransport, Refused, Throttled, parse_answer

DAY = date(2026, 11, 3)
ROW = {"inv_rech_nr": "R1", "inv_date": "2026-11-03", "itemprice": "11.90"}


def test_a_json_list_is_rows_with_every_value_a_string():
    body = json.dumps([ROW, {**ROW, "inv_rech_nr": "R2", "quantitypurchased": 2,
                             "uid": None, "mwst": True}]).encode()
    answer = parse_answer(200, body, DAY, "inv")
    assert [r["inv_rech_nr"] for r in answer.rows] == ["R1", "R2"]
    assert answer.rows[1]["quantitypurchased"] == "2"
    assert answer.rows[1]["uid"] == "" and answer.rows[1]["mwst"] == "1"
    assert parse_answer(200, b"[]", DAY, "rem").rows == []


def test_a_single_object_with_a_number_is_a_list_of_one():
    assert parse_answer(200, json.dumps(ROW).encode(), DAY, "inv").rows == [ROW]
    credit = {"rem_gs_nr": "GS1", "rem_date": "2026-11-03"}
    assert parse_answer(200, json.dumps(credit).encode(), DAY, "rem").rows == [credit]


def test_floats_keep_their_digits():
    rows = parse_answer(200, b'[{"inv_rech_nr": "R1", "itemprice": 10.10}]', DAY, "inv").rows
    assert rows[0]["itemprice"] == "10.10"


@pytest.mark.parametrize("status, body", [(200, b"Throttel is On"), (503, b"Throttel is On\n"),
                                          (200, b"Throttle is On"),
                                          (429, b'{"error": "slow down", "throttled": true}'),
                                          (200, b'{"error": ["x"], "throttled": 1}')])
def test_throttling_in_every_spelling(status, body):
    with pytest.raises(Throttled):
        parse_answer(status, body, DAY, "inv")


def test_an_error_object_is_refused_naming_day_type_and_message():
    with pytest.raises(Refused) as err:
        parse_answer(400, b'{"error": "start_date is older than two months"}', DAY, "rem")
    assert "2026-11-03.rem" in str(err.value) and "older than two months" in str(err.value)
    with pytest.raises(Refused):
        parse_answer(200, b'{"error": "x", "throttled": false}', DAY, "inv")


def test_wrong_credentials_stop_the_pipeline():
    with pytest.raises(ConfigError) as err:
        parse_answer(401, b'{"error": "invalid client_identifier"}', DAY, "inv")
    assert "auth_token" in str(err.value)


def test_parameters_not_loaded():
    with pytest.raises(InputError) as err:
        parse_answer(200, b"Error: Parameters not loaded [0]", DAY, "inv")
    assert "2026-11-03.inv" in str(err.value) and "Parameters not loaded" in str(err.value)


@pytest.mark.parametrize("body, words", [
    (b"<html><body>Wartung</body></html>", "not JSON"),
    (b"", "empty answer"),
    (b"   \n", "empty answer"),
    (b'[{"inv_rech_nr": "R1", "itemprice": "1', "not JSON"),
    (b'{"foo": 1}', "expected a JSON list"),
    (b'"text"', "expected a JSON list"),
    (b"[1, 2]", "row 0"),
])
def test_anything_else_is_a_clear_error_naming_day_and_type(body, words):
    with pytest.raises(InputError) as err:
        parse_answer(200, body, DAY, "inv")
    assert "Amainvoice 2026-11-03.inv" in str(err.value) and words in str(err.value)


def test_server_errors_are_transient_and_other_statuses_named():
    with pytest.raises(TransientError):
        parse_answer(502, b"<html>bad gateway</html>", DAY, "inv")
    with pytest.raises(InputError, match="HTTP 404"):
        parse_answer(404, b"[]", DAY, "inv")


def test_tax_answers_an_object():
    body = json.dumps({"thresholdCountries": [{"country": "FR"}], "closedThresholds": []})
    assert parse_answer(200, body.encode(), None, "tax").tax["thresholdCountries"][0] == {
        "country": "FR"}
    with pytest.raises(InputError, match="thresholdCountries"):
        parse_answer(200, b"[]", None, "tax")


# -- the same shapes through the emulator -------------------------------------------------

@pytest.fixture
def emulator():
    today = AmainvoiceEmulator().today()
    with AmainvoiceEmulator(Dataset(today - timedelta(days=3), 3, per_day=4), rate=1000) as emu:
        yield emu


OPEN: list[HttpTransport] = []


@pytest.fixture(autouse=True)
def _closed():
    yield
    while OPEN:
        OPEN.pop().close()


def _transport(emu, token="sandbox-token"):
    transport = HttpTransport(emu.endpoint, emu.customer_number, token, timeout=5, rate=1000)
    OPEN.append(transport)
    return transport


def test_the_emulator_serves_the_documented_request_and_answer(emulator):
    transport = _transport(emulator)
    day = emulator.dataset.start
    rows = transport.fetch(day, "inv").rows
    assert rows and all(r["inv_date"] == day.isoformat() for r in rows)
    assert rows[0]["documentlink"].startswith(emulator.url + "/documents/")
    got = emulator.received()[-1]
    assert got == {**got, "data_type": "inv", "start_date": day.isoformat(),
                   "end_date": day.isoformat(), "firm_key_id": "12345", "json": False}
    assert "client_identifier" not in got  # the token is never recorded
    assert transport.fetch(None, "tax").tax["thresholdCountries"]


@pytest.mark.parametrize("answer, error", [
    ("throttle-text", Throttled), ("throttle-json", Throttled), ("error", Refused),
    ("params", InputError), ("html", InputError), ("empty", InputError),
    ("truncated", InputError), ("server-error", TransientError)])
def test_injected_answers_reach_the_client_as_the_documented_shapes(emulator, answer, error):
    day = emulator.dataset.start
    emulator.inject(f"{day.isoformat()}.inv", [answer])
    with pytest.raises(error):
        _transport(emulator).fetch(day, "inv")
    assert _transport(emulator).fetch(day, "inv").rows  # the next answer is normal again


def test_single_object_answers_are_rows(emulator):
    day = emulator.dataset.start
    emulator.inject(f"{day.isoformat()}.inv", ["object"])
    assert len(_transport(emulator).fetch(day, "inv").rows) == 1


def test_the_emulator_refuses_wrong_tokens_old_days_and_today(emulator):
    with pytest.raises(ConfigError):
        _transport(emulator, token="wrong").fetch(emulator.dataset.start, "inv")
    with pytest.raises(Refused, match="older than two months"):
        _transport(emulator).fetch(AmainvoiceEmulator().today() - timedelta(days=90), "inv")
    with pytest.raises(Refused, match="not in the past"):
        _transport(emulator).fetch(emulator.today(), "inv")


def test_the_emulator_throttles_above_its_rate():
    today = AmainvoiceEmulator().today()
    with AmainvoiceEmulator(Dataset(today - timedelta(days=2), 2, per_day=2), rate=3,
                            per=60) as emu:
        transport = _transport(emu)
        for _ in range(3):
            transport.fetch(emu.dataset.start, "rem")
        with pytest.raises(Throttled):
            transport.fetch(emu.dataset.start, "rem")
        assert [r["answer"] for r in emu.received()][-1] == "throttle-text"
