"""`[plugins.amainvoice]`: the issue's keys, what each transport needs, secrets stay secret."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from syncd_amainvoice.config import AmainvoiceConfig

HTTP = {"endpoint": "https://amainvoice.example/api", "customer_number": "12345",
        "auth_token": "very-secret-token", "start_date": "2026-10-01"}


def test_the_issues_keys_and_their_defaults():
    config = AmainvoiceConfig(enabled=True, **HTTP)
    assert config.transport == "http" and config.start_date == date(2026, 10, 1)
    assert config.lookback == timedelta(days=7) and config.orders is False
    assert "very-secret-token" not in repr(config) and "very-secret-token" not in str(
        config.model_dump())
    assert AmainvoiceConfig(**{**HTTP, "customer_number": 12345}).customer_number == "12345"


@pytest.mark.parametrize("values, words", [
    ({"start_date": "2026-10-01"}, "needs endpoint, customer_number, auth_token"),
    ({**HTTP, "auth_token": None}, "needs auth_token"),
    ({"transport": "folder", "start_date": "2026-10-01"}, "needs folder"),
    ({**HTTP, "lookback": "90d"}, "lookback must be between"),
    ({**HTTP, "unknown": 1}, "Extra inputs are not permitted"),
    ({**HTTP, "transport": "ftp"}, "'http' or 'folder'"),
    ({k: v for k, v in HTTP.items() if k != "start_date"}, "start_date"),
])
def test_problems_are_named(values, words):
    with pytest.raises(ValidationError) as err:
        AmainvoiceConfig(**values)
    assert words in str(err.value)


def test_the_folder_transport_needs_only_a_folder():
    config = AmainvoiceConfig(transport="folder", folder="amainvoice/", start_date="2026-10-01",
                              lookback="0d", time_budget="30s")
    assert str(config.folder) == "amainvoice" and config.time_budget == timedelta(seconds=30)


def test_cursor_progress_compacts_over_complete_days_even_after_start_date_moved():
    from syncd_amainvoice.cursor import Progress

    progress = Progress(None)
    first = date(2026, 11, 1)
    progress.mark(first + timedelta(days=1), "inv", first)
    progress.mark(first + timedelta(days=1), "rem", first)
    assert progress.through is None and len(progress.done) == 2  # day 1 is still open
    progress.mark(first, "rem", first)
    progress.mark(first, "inv", first)
    assert progress.through == first + timedelta(days=1) and not progress.done
    moved = Progress(progress.dump())
    later = first + timedelta(days=10)
    moved.mark(later, "inv", later)
    moved.mark(later, "rem", later)
    assert moved.through == later and moved.dump()["through"] == later.isoformat()
