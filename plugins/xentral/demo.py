"""`syncd demo` share of the Xentral plugin: the emulator as the Xentral every flow feeds.

It starts the emulator with `create_missing_products = true` (the demo sources' SKUs are
created on first use, as an operator would allow for a fresh Xentral), the FBA/FBM projects
and a collective customer, and returns the `[plugins.xentral]` table. Pipelines come from the
sources (Amazon, Amainvoice), which add `xentral` as a target when this plugin is present.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from syncd.demo import DemoPart
from syncd_xentral.sandbox import XentralEmulator


class XentralDemo(DemoPart):
    name: ClassVar[str] = "xentral"
    plugin: ClassVar[str] = "xentral"

    def __init__(self) -> None:
        self.emulator: XentralEmulator | None = None

    def start(self, folder: Path) -> dict[str, Any]:
        self.emulator = XentralEmulator().start()
        return self.emulator.config_values(create_missing_products=True, create_orders=True)

    def notes(self) -> list[str]:
        if self.emulator is None:
            return []
        state = self.emulator.state
        if not state.requests:
            return [f"Xentral emulator {self.emulator.url}: no pipeline of this demo delivers "
                    "to xentral (sources add it as a target: Amainvoice does when installed)"]
        docs = {kind: state.count(kind) for kind in ("invoices", "creditNotes", "salesOrders")}
        paid = sum(1 for d in state.documents["invoices"].values()
                   if d.get("paymentStatus") == "paid")
        return [f"Xentral emulator {self.emulator.url}: {docs['invoices']} invoice(s) "
                f"({paid} paid), {docs['creditNotes']} credit note(s), {docs['salesOrders']} "
                f"sales order(s), {len(state.files)} file(s) attached, "
                f"{len(state.requests)} request(s), {len(state.spec_violations)} off the "
                "OpenAPI files"]

    def stop(self) -> None:
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None
