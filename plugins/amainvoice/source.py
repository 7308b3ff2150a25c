"""The Amainvoice source: every outstanding day per cycle, any reload range, late data caught.

A cycle fetches every (day, type) from `start_date` (or the cursor) up to yesterday that is
not done yet, plus the `lookback` days again (Amainvoice often delivers rows late; a document
whose rows changed becomes a revision in the engine), and `.tax` once per day. A reload
(`syncd reload`, windows of `max_window`) fetches its days again, whatever the cursor says.
Errors of one unit do not stop the others: they are raised together once every other unit is
committed, and the failed units stay outstanding for the next cycle.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from syncd.connectors import Batch, Catalog, ConnectorContext, Cursor, ReadItem, Source, Window
from syncd.errors import ConfigError, InputError, PermanentError, TransientError
from syncd.http import HttpClients
from syncd.model import Attachment, Document, DocumentKind
from syncd_amainvoice.config import AmainvoiceConfig
from syncd_amainvoice.cursor import Progress
from syncd_amainvoice.documents import build
from syncd_amainvoice.fetcher import Fetcher, Unit, error_text
from syncd_amainvoice.transport import (
    KINDS,
    FolderTransport,
    HttpTransport,
    Refused,
    Transport,
    unit_name,
)

BATCH = 200
REMOTE_HISTORY = timedelta(days=62)  # Xentral's module refused older start dates


def make_transport(config: AmainvoiceConfig, base: Path,
                   http: HttpClients | None = None) -> Transport:
    if config.transport == "folder":
        assert config.folder is not None
        folder = config.folder if config.folder.is_absolute() else base / config.folder
        return FolderTransport(folder, timeout=config.timeout.total_seconds(), http=http,
                               pdf_rate=config.pdf_requests_per_second)
    assert config.endpoint and config.customer_number and config.auth_token
    return HttpTransport(config.endpoint, config.customer_number,
                         config.auth_token.get_secret_value(),
                         timeout=config.timeout.total_seconds(),
                         rate=config.requests_per_second, http=http,
                         pdf_rate=config.pdf_requests_per_second)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


class AmainvoiceSource(Source):
    name = "amainvoice"
    config_model = AmainvoiceConfig
    max_window = timedelta(days=7)
    config: AmainvoiceConfig

    def __init__(self, config: AmainvoiceConfig, context: ConnectorContext,
                 transport: Transport | None = None) -> None:
        super().__init__(config, context)
        base = Path(context.data_dir).parent.parent  # data_dir is <config dir>/data/<plugin>
        self.transport = transport or make_transport(config, base, context.http)
        self.log = context.logger
        self.last_stats: dict[str, Any] = {}

    def discover(self) -> Catalog:
        kinds = {DocumentKind.INVOICE, DocumentKind.CREDIT_NOTE}
        if self.config.orders:
            kinds.add(DocumentKind.ORDER)
        return Catalog(kinds=frozenset(kinds), max_window=self.max_window,
                       notes="one request per (day, type): .inv, .rem; .tax once a day")

    def check(self) -> None:
        if isinstance(self.transport, FolderTransport):
            if not self.transport.folder.is_dir():
                raise ConfigError([f"plugins.amainvoice.folder: {self.transport.folder} is "
                                   "not a folder"])
            return
        self.transport.fetch(None, "tax")

    def close(self) -> None:
        self.transport.close()

    # -- what to fetch ----------------------------------------------------------------------
    def _units(self, progress: Progress, window: Window | None) -> list[Unit]:
        today = self.context.today()
        yesterday = today - timedelta(days=1)
        if isinstance(self.transport, FolderTransport):
            return self._folder_units(progress, window)
        if window is not None:
            last = min(window.end - timedelta(days=1), yesterday)
            if window.end - timedelta(days=1) > yesterday:
                self.log.info("amainvoice reload skips today and later (the remote has no "
                              "complete data for them yet)",
                              first_skipped=str(max(window.start, today)))
            return [Unit(d, k) for d in _days(window.start, last) for k in KINDS]
        first = self.config.start_date
        if progress.through is not None:
            first = max(first, progress.through + timedelta(days=1))
        units = [Unit(d, k) for d in _days(first, yesterday) for k in KINDS
                 if not progress.is_done(d, k)]
        back = max(self.config.start_date, today - timedelta(days=self.config.lookback.days))
        seen = set(units)
        units += [u for d in _days(back, yesterday) for k in KINDS
                  if (u := Unit(d, k)) not in seen]
        if progress.tax is None or progress.tax.get("day") != today.isoformat():
            units.insert(0, Unit(None, "tax"))
        return units

    def _folder_units(self, progress: Progress, window: Window | None) -> list[Unit]:
        assert isinstance(self.transport, FolderTransport)
        folder = self.transport.folder
        if not folder.is_dir():
            raise InputError(str(folder), "the Amainvoice folder does not exist")
        units: list[Unit] = []
        for path in sorted(folder.iterdir()):
            stem, _, kind = path.name.partition(".")
            if kind not in (*KINDS, "tax"):
                continue
            try:
                day = date.fromisoformat(stem)
            except ValueError:
                continue
            if window is not None:
                if kind != "tax" and window.start <= day < window.end:
                    units.append(Unit(day, kind))
                continue
            if day < self.config.start_date and kind != "tax":
                continue
            stat = path.stat()
            if progress.files.get(path.name) != f"{stat.st_size}:{stat.st_mtime_ns}":
                units.append(Unit(day, kind))
        taxes = [u for u in units if u.kind == "tax"]
        return [u for u in units if u.kind != "tax"] + taxes[-1:]

    # -- read -------------------------------------------------------------------------------
    def read(self, cursor: Cursor | None, window: Window | None = None) -> Iterator[Batch]:
        progress = Progress(cursor)
        units = self._units(progress, window)
        budget = None if window is not None else self.config.time_budget.total_seconds()
        fetcher = Fetcher(self.transport, concurrency=self.config.concurrency,
                          rate=self.config.requests_per_second,
                          pause=self.config.throttle_pause.total_seconds(),
                          pause_max=self.config.throttle_pause_max.total_seconds(),
                          attempts=self.config.attempts, budget=budget, log=self.log)
        errors: list[str] = []
        too_old: list[tuple[Unit, BaseException]] = []
        counts = {"documents": 0, "rejected": 0}
        today = self.context.today()
        for unit, result in fetcher.run(units):
            if isinstance(result, ConfigError):
                raise result
            if isinstance(result, BaseException):
                errors.append(self._explain(unit, result, today, window is None))
                if self._too_old(unit, result, today):
                    too_old.append((unit, result))
                continue
            items: list[ReadItem] = []
            if result is not None and unit.kind == "tax":
                assert result.tax is not None
                progress.set_tax(unit.day or today, result.tax, unit.name)
            elif result is not None:
                assert unit.day is not None
                items = build(result.rows, unit.day, unit.kind, orders=self.config.orders).items
            for item in items:
                counts["documents" if isinstance(item, Document) else "rejected"] += 1
            done = self._mark(progress, unit, result is not None)
            for start in range(0, max(len(items), 1), BATCH):
                last = start + BATCH >= len(items)
                out = None if window is not None else (progress.dump() if last and done
                                                       else cursor)
                yield Batch(items[start:start + BATCH], out)
            if done and window is None:
                cursor = progress.dump()
        self.last_stats = {**fetcher.describe(), **counts, "units": len(units),
                           "errors": len(errors)}
        self.log.info("amainvoice read", reload=window is not None, **self.last_stats)
        if fetcher.stats.left:
            self.log.info("amainvoice time budget used up; the rest waits for the next cycle",
                          left=fetcher.stats.left, budget=str(self.config.time_budget))
        if errors:
            where = (f"Amainvoice reload {window.start}..{window.end - timedelta(days=1)}"
                     if window is not None else "Amainvoice")
            if len(too_old) == len(errors):
                raise InputError(where, self._refused_old(too_old, len(units), today,
                                                          window is None))
            head = "; ".join(errors[:5]) + (f"; and {len(errors) - 5} more"
                                            if len(errors) > 5 else "")
            again = "the next cycle asks again" if window is None else \
                "the same reload asks again"
            raise InputError(where, f"{len(errors)} of {len(units)} requests failed ({again}): "
                                    f"{head}")

    @staticmethod
    def _too_old(unit: Unit, error: BaseException, today: date) -> bool:
        return (isinstance(error, Refused) and unit.day is not None
                and unit.day < today - REMOTE_HISTORY)

    @staticmethod
    def _refused_old(refused: list[tuple[Unit, BaseException]], units: int, today: date,
                     cycle: bool) -> str:
        """One sentence for the usual case: every failure is a day the remote keeps no more."""
        days = sorted(u.day for u, _ in refused if u.day is not None)
        first = refused[0][1]
        answer = first.answer if isinstance(first, Refused) else str(first)
        text = (f"the remote refuses days this old: {len(refused)} of {units} requests, days "
                f"{days[0]}..{days[-1]}, answered {answer!r}; it serves about "
                f"{REMOTE_HISTORY.days} days back (Xentral's module allowed two months), so "
                f"from about {today - REMOTE_HISTORY} on")
        return text + ("; every cycle asks again until start_date is moved past them"
                       if cycle else "")

    def _mark(self, progress: Progress, unit: Unit, found: bool) -> bool:
        """Record `unit` as done; False when it must be fetched again (a missing file)."""
        if isinstance(self.transport, FolderTransport):
            path = self.transport.path(unit.day, unit.kind)
            if not found or not path.exists():
                return False
            stat = path.stat()
            progress.files[path.name] = f"{stat.st_size}:{stat.st_mtime_ns}"
            return True
        if unit.kind == "tax" or unit.day is None:
            return found
        progress.mark(unit.day, unit.kind, self.config.start_date)
        return True

    def _explain(self, unit: Unit, error: BaseException, today: date, cycle: bool) -> str:
        text = error_text(error)
        if self._too_old(unit, error, today):
            text += (f" (the remote refuses days this old: {unit.day} is more than "
                     f"{REMOTE_HISTORY.days} days back; Xentral's module allowed two months"
                     + ("; every cycle asks again until start_date is moved past it)"
                        if cycle else ")"))
        elif isinstance(error, TransientError):
            text += (f" (gave up on {unit_name(unit.day, unit.kind)} after "
                     f"{self.config.attempts} tries)")
        return text

    # -- attachments ------------------------------------------------------------------------
    def fetch_attachment(self, document: Document, attachment: Attachment) -> bytes:
        url = attachment.url or ""
        what = f"PDF of {document.kind.value.replace('_', ' ')} {document.number}"
        if isinstance(self.transport, FolderTransport) and not url.startswith(("http:",
                                                                               "https:")):
            path = self.transport.folder / url
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise PermanentError(f"{what}: cannot read {path}: {exc}") from None
        else:
            try:
                response = self.transport.download(url)
            except httpx.TransportError as exc:
                raise TransientError(f"{what}: {type(exc).__name__} fetching {url}") from None
            status = response.status_code
            if status == 429 or status >= 500:
                raise TransientError(f"{what}: HTTP {status} from {url}", code=str(status))
            if status != 200:
                raise PermanentError(f"{what}: HTTP {status} from {url}", code=str(status))
            data = response.content
        if not data.startswith(b"%PDF-"):
            raise PermanentError(f"{what}: {url} did not return a PDF "
                                 f"(starts with {data[:16]!r})")
        return data
