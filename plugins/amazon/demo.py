"""Amazon's part of `syncd demo`: the SP-API emulator with the bundled SYNTHETIC VIDR.

The emulator validates every request against Amazon's official models (when `../shared/specs`
is beside the clone), enforces the rate limits (sped up) and checks every uploaded PDF; the
pipeline reads the VIDR, numbers the invoices and credit notes, renders them and uploads
them with `UPLOAD_VAT_INVOICE`. The notes say what the emulator received and checked.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any, ClassVar

from syncd.demo import DemoPart
from syncd_amazon.fixtures import DEMO_VIDR
from syncd_amazon.sandbox import AmazonEmulator
from syncd_amazon.testing import FAST


class AmazonDemo(DemoPart):
    """VIDR → 14 numbered invoices and credit notes → PDFs → UPLOAD_VAT_INVOICE."""

    name: ClassVar[str] = "amazon"
    plugin: ClassVar[str] = "amazon"
    speedup: ClassVar[float] = 100.0
    """How much faster than Amazon the emulator's rate limits run."""

    def __init__(self) -> None:
        self.emulator: AmazonEmulator | None = None
        self.folder: Path | None = None

    def start(self, folder: Path) -> dict[str, Any]:
        self.folder = folder
        self.emulator = AmazonEmulator([DEMO_VIDR], speedup=self.speedup,
                                       fresh_dates=True).start()
        return self.emulator.config_values(**FAST, upload_interval=f"{3.0 / self.speedup:g}s")

    def pipelines(self, plugins: Collection[str]) -> list[dict[str, Any]]:
        # the invoices syncd numbers and renders also reach Xentral when it is in the demo
        # (lexoffice books EUR only: the demo's PLN invoice would rightly wait in error there)
        targets = ["amazon", *(["xentral"] if "xentral" in plugins else [])]
        return [{"name": "amazon-invoices", "source": "amazon", "targets": targets,
                 "schedule": "12h"}]

    def notes(self) -> list[str]:
        if self.emulator is None or self.folder is None:
            return []
        state = self.emulator.state
        feeds = state.feeds
        numbers = sorted(f.options.get("metadata:InvoiceNumber", "") for f in feeds.values())
        rejected = [f for f in feeds.values() if f.errors]
        checked = self.emulator.validation_summary()  # which checks ran, and their findings
        return [
            f"SP-API emulator on {self.emulator.url} with the synthetic VIDR {DEMO_VIDR.name}; "
            f"{checked}",
            f"PDFs (exactly as uploaded, {len(numbers)}): in the state database's rendered-file "
            "archive, shown by the dashboard (`syncd web`, a document's PDF)"
            + (f" ({numbers[0]} … {numbers[-1]})" if numbers else ""),
            f"The emulator received {len(feeds)} UPLOAD_VAT_INVOICE feed(s), "
            f"{len(rejected)} rejected, {len(state.duplicate_uploads)} duplicate(s).",
            *(f"rejected feed {f.feed_id} ({f.shipping_id}): {f.errors}" for f in rejected),
        ]

    def stop(self) -> None:
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None
