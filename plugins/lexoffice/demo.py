"""lexoffice's share of `syncd demo`: the emulator, as the target of the sources' flows.

lexoffice is only a target, so the part adds no pipeline: source parts (Afterbuy) name
`lexoffice` in their pipelines' targets when it is present. No `amazon → lexoffice` pipeline
either: the Amazon source reads the VIDR's *pending* view, which the Amazon part's own
pipeline empties first (uploading the invoices), so a second pipeline would see nothing; in a
real setup lexoffice is a second target of that one pipeline (`targets = ["amazon",
"lexoffice"]`, tested in tests/test_lexoffice_amazon.py). The emulator runs at lexoffice's
real 2 requests/s and its organisation uses the OSS destination principle.
"""

from __future__ import annotations

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
