"""Local emulator of Amainvoice's form-POST transport and its documentlink PDFs."""

from __future__ import annotations

from syncd_amainvoice.sandbox.cli import command
from syncd_amainvoice.sandbox.dataset import Dataset
from syncd_amainvoice.sandbox.server import AmainvoiceEmulator

__all__ = ["AmainvoiceEmulator", "Dataset", "command"]
