"""Amainvoice's share of `syncd demo`: the emulator with a small SYNTHETIC dataset.

Three days of about ten orders each (some 30 invoices and credit notes, with a split shipment,
refunds, B2B and late rows) feed every invoicing target the demo has: Xentral and lexoffice
when their demo parts run too (`syncd demo`, or `syncd demo --only amainvoice --only
lexoffice`). With neither there is no target that takes Amainvoice documents, so the part
contributes no pipeline and its notes say how to get one.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta
from pathlib import Path
from typing import Any

from syncd.demo import DemoPart
from syncd_amainvoice.sandbox import AmainvoiceEmulator, Dataset
from syncd_amainvoice.sandbox.dataset import COUNTRIES

TARGETS = ("xentral", "lexoffice")


class AmainvoiceDemo(DemoPart):
    name = "amainvoice"
    plugin = "amainvoice"

    def __init__(self) -> None:
        self.emulator: AmainvoiceEmulator | None = None
        self.targets: list[str] = []

    def start(self, folder: Path) -> dict[str, Any]:
        probe = AmainvoiceEmulator()
        start = probe.today() - timedelta(days=3)
        # EUR marketplaces only: lexoffice books vouchers in EUR alone, and a GBP invoice
        # would (rightly) wait in error there; `syncd sandbox amainvoice` serves the UK too
        # seed 8: 28 invoices and 4 credit notes, every refund of an invoice in range, no rows
        # held back for a second fetch (the demo runs one cycle); the same on any date
        dataset = Dataset(start, 3, per_day=9, seed=8, refund_ratio=0.25, split_ratio=0.2,
                          countries=[(c, w) for c, w in COUNTRIES if c != "UK"])
        self.emulator = AmainvoiceEmulator(dataset, rate=20).start()
        return self.emulator.config_values(lookback="3d")

    def pipelines(self, plugins: Collection[str]) -> list[dict[str, Any]]:
        self.targets = [t for t in TARGETS if t in plugins]
        if not self.targets:
            return []
        return [{"name": "amainvoice-import", "source": "amainvoice", "targets": self.targets,
                 "schedule": "1h"}]

    def notes(self) -> list[str]:
        if self.emulator is None:
            return []
        received = self.emulator.received()
        lines = [f"Amainvoice emulator: {len(received)} requests "
                 f"({len(self.emulator.received('throttle-text'))} throttled), "
                 f"{len(self.emulator.pdf_requests)} PDF downloads"]
        if not self.targets:
            lines.append("Amainvoice: no pipeline, because neither the xentral nor the "
                         "lexoffice demo part runs in this demo (they are the targets that "
                         "take Amainvoice documents); `syncd demo --only amainvoice --only "
                         "lexoffice` shows the flow end to end")
        return lines

    def stop(self) -> None:
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None
