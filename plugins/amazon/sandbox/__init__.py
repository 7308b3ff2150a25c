"""Local emulator of the Amazon SP-API parts syncd uses (LWA, Reports, Feeds)."""

from __future__ import annotations

from syncd_amazon.sandbox.cli import command
from syncd_amazon.sandbox.server import AmazonEmulator

__all__ = ["AmazonEmulator", "command"]
