"""Afterbuy's part of `syncd demo`: the emulator, a generated invoice list, and the pipeline
`afterbuy → lexoffice` when the lexoffice plugin is in the demo."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any, ClassVar

from syncd.demo import DemoPart, Importer
from syncd_afterbuy.sandbox.generator import GeneratedExport, generate
from syncd_afterbuy.sandbox.server import AfterbuyEmulator

PIPELINE = "afterbuy"
FILENAME = "Rechnungsliste.csv"


class AfterbuyDemo(DemoPart):
    name: ClassVar[str] = "afterbuy"
    plugin: ClassVar[str] = "afterbuy"

    def __init__(self, count: int = 12) -> None:
        self.export: GeneratedExport = generate(count, bom=True)
        self.emulator: AfterbuyEmulator | None = None
        self.active = False
        """True once `pipelines` found a target for the Afterbuy documents."""

    def start(self, folder: Path) -> dict[str, Any]:
        self.emulator = AfterbuyEmulator(self.export.invoices).start()
        (folder / FILENAME).write_bytes(self.export.data)
        return self.emulator.config_values()

    def pipelines(self, plugins: Collection[str]) -> list[dict[str, Any]]:
        self.active = "lexoffice" in plugins
        if not self.active:
            return []
        return [{"name": PIPELINE, "source": "afterbuy", "targets": ["lexoffice"],
                 "schedule": "12h"}]

    def feed(self, importer: Importer) -> None:
        if self.active:
            importer(PIPELINE, FILENAME, self.export.data)

    def notes(self) -> list[str]:
        if self.emulator is None or not self.active:
            return []
        em = self.emulator
        credit = sum(i.credit for i in self.export.invoices)
        return [f"Afterbuy: {FILENAME} with {self.export.rows} rows ({len(self.export.invoices)}"
                f" documents, {credit} of them credit notes) pushed to the inbox of pipeline "
                f"{PIPELINE!r}; the emulator saw {em.count('login')} login(s) and "
                f"{em.count('pdf', 200)} PDF download(s)."]

    def stop(self) -> None:
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None
