"""Local emulator of the Afterbuy parts syncd uses: web login, invoice PDFs, XML API."""

from __future__ import annotations

from syncd_afterbuy.sandbox.cli import command
from syncd_afterbuy.sandbox.generator import GeneratedExport, generate
from syncd_afterbuy.sandbox.server import AfterbuyEmulator

__all__ = ["AfterbuyEmulator", "GeneratedExport", "command", "generate"]
