"""The Amainvoice demo part and `syncd sandbox amainvoice` (SYNTHETIC data)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from syncd.model import Document
from syncd_amainvoice.config import AmainvoiceConfig
from syncd_amainvoice.demo import AmainvoiceDemo
from syncd_amainvoice.sandbox import AmainvoiceEmulator
from syncd_amainvoice.testing import close_sources, drain, make_source


@pytest.fixture(autouse=True)
def _closed():
    yield
    close_sources()


def test_the_demo_part_serves_about_thirty_documents_and_feeds_the_invoicing_targets(
        tmp_path):
    part = AmainvoiceDemo()
    table = part.start(tmp_path)
    try:
        config = AmainvoiceConfig(**table)
        assert config.enabled and config.transport == "http"
        items, _ = drain(make_source(tmp_path, None, **table))
        docs = [i for i in items if isinstance(i, Document)]
        assert 25 <= len(docs) <= 45
        assert {d.kind.value for d in docs} == {"invoice", "credit_note"}
        assert part.pipelines({"amainvoice"}) == []
        assert any("neither the xentral nor the lexoffice demo part" in n
                   and "syncd demo --only amainvoice --only lexoffice" in n
                   for n in part.notes())
        [pipeline] = part.pipelines({"amainvoice", "xentral", "lexoffice", "amazon"})
        assert pipeline["source"] == "amainvoice"
        assert pipeline["targets"] == ["xentral", "lexoffice"]
        assert part.pipelines({"amainvoice", "lexoffice"})[0]["targets"] == ["lexoffice"]
        assert "requests" in part.notes()[0]
    finally:
        part.stop()


def test_sandbox_command_is_the_emulators_click_command():
    command = AmainvoiceEmulator.command
    result = CliRunner().invoke(command, ["--help"])
    assert result.exit_code == 0
    for option in ("--rate", "--latency", "--late-ratio", "--inject", "--throttle-style"):
        assert option in result.output
