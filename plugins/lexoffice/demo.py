"""lexoffice's share of `syncd demo`: the emulator as the target of the other parts' flows.

The part adds no pipeline of its own (lexoffice is only a target); when the Amazon part is in
the demo it adds `amazon → lexoffice`. The emulator runs at lexoffice's real 2 requests/s and
its organisation uses the OSS destination principle, so EU sales taxed at the buyer's rate
(the Amazon demo's FR and IT shipments) are booked as "Fernverkauf in EU-Land steuerpflichtig";
a non-EUR document is refused as lexoffice would.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from syncd.demo import DemoPart
from syncd_lexoffice.sandbox import LexofficeEmulator


class LexofficeDemo(DemoPart):
    name = "lexoffice"
    plugin = "lexoffice"

    def __init__(self) -> None:
        self.emulator: LexofficeEmulator | None = None

    def start(self, folder: Path) -> dict[str, Any]:
        self.emulator = LexofficeEmulator(rate=2.0, destination_principle=True).start()
        return self.emulator.config(mark_paid=False)

    def pipelines(self, plugins: Collection[str]) -> list[dict[str, Any]]:
        if "amazon" not in plugins:
            return []
        return [{"name": "amazon-lexoffice", "source": "amazon", "targets": ["lexoffice"],
                 "schedule": "12h"}]

    def notes(self) -> list[str]:
        if self.emulator is None:
            return []
        state = self.emulator.state
        return [f"lexoffice emulator ({self.emulator.url}): {len(state.vouchers)} voucher(s), "
                f"{len(state.files)} file(s), {state.count(status=429)} answer(s) 429, "
                f"{state.count(status=406)} refused with 406; voucher schema: "
                f"{self.emulator.validator.schema_source}"]

    def stop(self) -> None:
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None
