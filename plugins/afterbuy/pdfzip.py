"""Invoice PDFs uploaded as a ZIP through the inbox (`syncd import afterbuy Belege.zip`).

The archive stays in the inbox (the engine's store), so nothing is extracted to disk: a
member named `<invoice number>.pdf` (in any folder of the archive) is read straight from the
newest archive that has it. The member index is kept in memory per source instance only.
"""

from __future__ import annotations

import io
import threading
import zipfile
from pathlib import PurePosixPath
from typing import Any

from syncd.context import InboxItem
from syncd_afterbuy.invoices import pdf_filename

MAX_PDF = 50 * 1024 * 1024


def is_zip(item: InboxItem, head: bytes = b"") -> bool:
    return item.filename.lower().endswith(".zip") or head.startswith(b"PK\x03\x04")


class ZipPdfs:
    """Finds `<number>.pdf` in the inbox's ZIP archives."""

    def __init__(self, inbox: Any) -> None:
        self.inbox = inbox
        self._index: dict[int, dict[str, str]] = {}
        self._lock = threading.Lock()

    def _members(self, item: InboxItem) -> dict[str, str]:
        with self._lock:
            if item.id not in self._index:
                try:
                    with zipfile.ZipFile(io.BytesIO(self.inbox.read(item))) as archive:
                        self._index[item.id] = {
                            PurePosixPath(info.filename).name.lower(): info.filename
                            for info in archive.infolist()
                            if info.filename.lower().endswith(".pdf") and not info.is_dir()
                            and info.file_size <= MAX_PDF}
                except zipfile.BadZipFile:
                    self._index[item.id] = {}
            return self._index[item.id]

    def find(self, number: str) -> bytes | None:
        if self.inbox is None:
            return None
        wanted = pdf_filename(number).lower()
        archives = [item for item in self.inbox.items(after=None) if is_zip(item)]
        for item in reversed(archives):  # the newest upload wins
            member = self._members(item).get(wanted)
            if member is not None:
                with zipfile.ZipFile(io.BytesIO(self.inbox.read(item))) as archive:
                    return archive.read(member)
        return None

    def count(self, item: InboxItem) -> int:
        return len(self._members(item))
