"""Local emulator of the Xentral API parts syncd uses (v3 documents and files, v1 status)."""

from __future__ import annotations

from syncd_xentral.sandbox.cli import command
from syncd_xentral.sandbox.server import XentralEmulator

XentralEmulator.command = command

__all__ = ["XentralEmulator", "command"]
