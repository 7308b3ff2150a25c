"""Number formats: placeholders, yearly uniqueness, clear errors before a number is spent."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from syncd.connectors import NumberSeries
from syncd.numbering import NumberFormatError, check_format, format_number


def test_formats_use_the_issue_date():
    series = NumberSeries("inv", "RE{yy}{month:02d}-{seq:05d}")
    assert format_number(series, 42, date(2026, 3, 9)) == "RE2603-00042"
    assert format_number(NumberSeries("c", "C-{seq}", yearly_reset=False), 7,
                         date(2026, 1, 1)) == "C-7"


@pytest.mark.parametrize(("fmt", "reset", "message"), [
    ("INV-{year}", True, "needs {seq}"),
    ("INV-{seq}", True, "needs {year} or {yy}"),
    ("INV-{year}-{number}", True, "uses {number}"),
    ("INV-{year-{seq}", True, "malformed"),
    ("INV-{seq:xd}", False, "cannot format"),
])
def test_broken_formats_are_explained(fmt, reset, message):
    series = NumberSeries("inv", fmt, yearly_reset=reset)
    with pytest.raises(NumberFormatError, match="number series 'inv'") as caught:
        format_number(series, 1, date(2026, 1, 1))
    assert message in str(caught.value)


def test_a_broken_format_spends_no_number(syncd_store, make_document):
    syncd_store.ingest("p", "test", ["a"], [make_document("k1")], None)
    bad = NumberSeries("inv", "INV-{seq}")
    assert syncd_store.claim("p", "w", 10, timedelta(minutes=5), lambda d: bad) == []
    (row,) = syncd_store.list_documents(state="error")  # this document alone, with the reason
    assert "needs {year} or {yy}" in row.error and row.number is None
    syncd_store.reset([row.id], "op")
    good = NumberSeries("inv", "INV-{year}-{seq:04d}")
    (claimed,) = syncd_store.claim("p", "w", 10, timedelta(minutes=5), lambda d: good,
                                   today=date(2026, 5, 1))
    assert claimed.number == "INV-2026-0001"
    check_format(good)
