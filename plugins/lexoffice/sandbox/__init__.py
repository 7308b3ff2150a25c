"""Local emulator of the lexoffice Public API (and the web-app payment route)."""

from __future__ import annotations

from syncd_lexoffice.sandbox.cli import command
from syncd_lexoffice.sandbox.server import LexofficeEmulator

__all__ = ["LexofficeEmulator", "command"]
