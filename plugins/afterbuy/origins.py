"""Which upload first held an invoice exactly as it is now.

Sellers export overlapping ranges ("last 30 days", every week), so most invoices arrive in
several files. A document that named the *current* file would change with every upload and
turn every `done` invoice into a revision for the operator to review. Instead a document names
the earliest inbox file whose rows for that invoice are identical (mapped cells, in order):
an unchanged invoice stays byte-for-byte the same document, a changed one ("Bestellung neu
hochladen") names the file that changed it. The index lives in memory only; a new process
rebuilds it from the inbox (parsing, not building documents: about a second per 100,000 rows).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from syncd.context import InboxItem
from syncd.errors import InputError
from syncd_afterbuy.invoices import InvoiceList, Origin
from syncd_afterbuy.pdfzip import is_zip

Opener = Callable[[InboxItem], InvoiceList]
"""Opens an inbox item as an invoice list (InputError when it is none)."""


class FirstSeen:
    """`first_seen(number, fingerprint)`: the origin of the earliest identical upload."""

    def __init__(self, inbox: Any, opener: Opener) -> None:
        self.inbox = inbox
        self.opener = opener
        self._seen: dict[tuple[str, str], Origin] = {}
        self._upto = 0
        self._lock = threading.Lock()

    def include(self, item: InboxItem, current: InvoiceList) -> None:
        """Index every inbox file up to `item` (whose list is `current`), oldest first."""
        with self._lock:
            if item.id <= self._upto:
                return
            for earlier in self.inbox.items(after=self._upto or None):
                if earlier.id > item.id:
                    break
                if earlier.id == item.id:
                    self._add(current)
                elif not is_zip(earlier):
                    with suppress(InputError):  # a file that is no invoice list holds none
                        self._add(self.opener(earlier))
                self._upto = earlier.id

    def _add(self, invoice_list: InvoiceList) -> None:
        for number, fingerprint, origin in invoice_list.fingerprints():
            self._seen.setdefault((number, fingerprint), origin)

    def __call__(self, number: str, fingerprint: str) -> Origin | None:
        return self._seen.get((number, fingerprint))
