"""Mark as paid: the unofficial web-app route, isolated from the API key, and its failures."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError
from structlog.testing import capture_logs

from syncd.errors import ConfigError, TransientError
from syncd_lexoffice.config import LexofficeConfig
from syncd_lexoffice.sandbox import LexofficeEmulator
from syncd_lexoffice.target import paid_date
from syncd_lexoffice.testing import deliver, make_job, make_target, sample_document


@pytest.fixture
def emulator():
    with LexofficeEmulator(rate=50) as emu:
        yield emu


def test_mark_paid_records_one_payment_through_the_web_app(emulator, tmp_path):
    target = make_target(emulator, tmp_path, mark_paid=True)
    doc = sample_document("p1", extra={"paid_date": "2026-03-16"})
    with capture_logs() as logs:
        job = deliver(target, make_job(doc))
    [login] = [e for e in logs if e["event"].startswith("web app login")]
    assert login["log_level"] == "warning" and "counted twice" in login["warning"]
    [voucher] = emulator.state.by_number("RE-p1")
    assert voucher.status == "paid" and job.steps["paid"].detail["date"] == "2026-03-16"
    assert emulator.state.payments == [{"voucher": voucher.id, "amount": 119,
                                        "postingDate": "2026-03-16", "method": "personal",
                                        "balanceReferenceType": "PartPayment"}]
    assert emulator.state.violations == []  # the API key never went to the web app
    assert emulator.state.logins == 1


def test_payment_whose_answer_was_lost_is_found_not_repeated(emulator, tmp_path):
    target = make_target(emulator, tmp_path, mark_paid=True)
    job = make_job(sample_document("p2"))
    job = job.with_step("voucher", target.run_step("voucher", job))
    job = job.with_step("file", target.run_step("file", job))
    emulator.state.inject("PUT", r"/payment/", 502, after_effect=True)
    with pytest.raises(TransientError, match="HTTP 502"):
        target.run_step("paid", job)
    found = target.find_step("paid", job)
    assert found is not None and found.detail["found"] is True
    assert len(emulator.state.payments) == 1


def test_unpaid_voucher_is_not_reported_paid(emulator, tmp_path):
    target = make_target(emulator, tmp_path, mark_paid=True)
    job = make_job(sample_document("p3"))
    job = job.with_step("voucher", target.run_step("voucher", job))
    assert target.find_step("paid", job) is None


def test_wrong_password_stops_with_one_line_and_logs_in_once(emulator, tmp_path):
    target = make_target(emulator, tmp_path, mark_paid=True, login_password="wrong")
    for key in ("a", "b"):
        job = make_job(sample_document(key))
        job = job.with_step("voucher", target.run_step("voucher", job))
        with pytest.raises(ConfigError) as caught:
            target.run_step("paid", job)
        message = str(caught.value)
        assert "refused the login of buchhaltung@example.com (HTTP 401" in message
        assert "wrong" not in message.replace("wrong,", "") and "\n" not in message
    assert emulator.state.logins == 1 and emulator.state.payments == []


def test_login_challenge_stops_with_one_clear_line(emulator, tmp_path):
    emulator.state.login_challenge = True
    target = make_target(emulator, tmp_path, mark_paid=True)
    job = make_job(sample_document("ch"))
    job = job.with_step("voucher", target.run_step("voucher", job))
    with pytest.raises(ConfigError, match=r"asks buchhaltung@example\.com for a second factor"):
        target.run_step("paid", job)


def test_expired_session_logs_in_again(emulator, tmp_path):
    target = make_target(emulator, tmp_path, mark_paid=True)
    first = deliver(target, make_job(sample_document("e1")))
    emulator.state.sessions.clear()
    deliver(target, make_job(sample_document("e2")))
    assert first.steps["paid"].ref and emulator.state.logins == 2
    assert len(emulator.state.payments) == 2


def test_mark_paid_needs_a_login():
    with pytest.raises(ValidationError, match="mark_paid = true needs login_email"):
        LexofficeConfig(enabled=True, api_key="k", mark_paid=True)
    assert LexofficeConfig(enabled=True, api_key="k").mark_paid is False


def test_paid_date_falls_back_to_the_issue_date():
    assert paid_date(sample_document("d", issue=date(2026, 2, 3))) == date(2026, 2, 3)
    assert paid_date(sample_document("d", extra={"payment_date": "2026-02-05T10:00"})) == \
        date(2026, 2, 5)
    assert paid_date(sample_document("d", extra={"afterbuy:paid_date": "2026-02-07"})) == \
        date(2026, 2, 7)


def test_a_voucher_settled_by_a_bank_match_meanwhile_gets_no_second_payment(emulator,
                                                                             tmp_path):
    """The paid step waited (e.g. for a fixed login) while lexoffice's bank matching paid the
    voucher: recording a "Privat" payment as well would count the sale twice."""
    from decimal import Decimal

    target = make_target(emulator, tmp_path, mark_paid=True)
    job = make_job(sample_document("bm"))
    job = job.with_step("voucher", target.run_step("voucher", job))
    job = job.with_step("file", target.run_step("file", job))
    [voucher] = emulator.state.by_number("RE-bm")
    voucher.paid = voucher.gross + Decimal("0.50")  # the bank match (overpaid: open < 0)
    result = target.run_step("paid", job)
    assert result.detail["found"] is True and emulator.state.payments == []
    assert target.find_step("paid", job) is not None


def test_a_partly_paid_voucher_gets_only_its_open_amount(emulator, tmp_path):
    from decimal import Decimal

    target = make_target(emulator, tmp_path, mark_paid=True)
    job = make_job(sample_document("pp"))  # 119.00 gross
    job = job.with_step("voucher", target.run_step("voucher", job))
    job = job.with_step("file", target.run_step("file", job))
    [voucher] = emulator.state.by_number("RE-pp")
    voucher.paid = Decimal("19.00")
    result = target.run_step("paid", job)
    assert result.detail["amount"] == "100.00" and voucher.status == "paid"
    assert [p["amount"] for p in emulator.state.payments] == [100]
