"""The contract behind `syncd demo`: every plugin contributes its emulator and its flows.

`syncd demo` collects the `DemoPart`s registered through `register_demos`, starts each part's
sandbox emulator, writes one config from the parts' plugin tables and pipelines, pushes the
parts' inbox files, runs one full cycle of every pipeline through the real engine and prints
what happened. No credentials, no internet: every remote is a bundled emulator on 127.0.0.1.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any, ClassVar

Importer = Callable[[str, str, bytes], object]
"""`importer(pipeline, filename, data)`: the same inbox path as `syncd import`."""


class DemoPart(ABC):
    """One plugin's share of the demo: its emulator, its config table and the flows it starts."""

    name: ClassVar[str]
    """Unique among demo parts; usually the plugin's name."""
    plugin: ClassVar[str]
    """The plugin whose `[plugins.<plugin>]` table `start` returns."""

    @abstractmethod
    def start(self, folder: Path) -> dict[str, Any]:
        """Start the emulator(s); return the `[plugins.<plugin>]` table (with enabled = true)."""

    def pipelines(self, plugins: Collection[str]) -> list[dict[str, Any]]:
        """`[[pipelines]]` tables this part's source feeds, given the plugins in the demo."""
        return []

    def feed(self, importer: Importer) -> None:  # noqa: B027 - optional override
        """Push files into pipeline inboxes before the cycle (e.g. an Afterbuy CSV export)."""

    def notes(self) -> list[str]:
        """Lines printed after the run, e.g. what the emulator received and checked."""
        return []

    def stop(self) -> None:  # noqa: B027 - optional override
        """Stop the emulator(s)."""
