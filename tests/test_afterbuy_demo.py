"""Afterbuy's demo part: emulator up, its table, the pipeline only with lexoffice, the feed."""

from __future__ import annotations

import pytest

from syncd.demo import DemoPart
from syncd_afterbuy.config import AfterbuyConfig
from syncd_afterbuy.demo import AfterbuyDemo
from syncd_afterbuy.invoices import read_invoice_list


def test_the_demo_part_starts_the_emulator_and_feeds_the_pipeline_inbox(tmp_path):
    part = AfterbuyDemo()
    assert isinstance(part, DemoPart) and part.name == part.plugin == "afterbuy"
    table = part.start(tmp_path)
    try:
        config = AfterbuyConfig(**table)
        assert config.enabled and config.pdf_url.startswith("http://127.0.0.1:")
        assert part.pipelines({"afterbuy", "amazon"}) == []
        part.feed(lambda *args: pytest.fail("no pipeline, no feed"))
        assert part.notes() == []
        (pipeline,) = part.pipelines({"afterbuy", "lexoffice"})
        assert pipeline["source"] == "afterbuy" and pipeline["targets"] == ["lexoffice"]
        pushed = []
        part.feed(lambda name, filename, data: pushed.append((name, filename, data)))
        ((name, filename, data),) = pushed
        assert name == pipeline["name"] and filename.endswith(".csv")
        _, items = read_invoice_list(data, filename, config)
        assert len(items) == len(part.export.invoices) and all(d.attachments for d in items)
        assert "0 PDF download(s)" in part.notes()[0]
    finally:
        part.stop()
    assert part.emulator is None
