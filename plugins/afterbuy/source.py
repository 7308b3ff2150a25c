"""The `afterbuy` source: invoice-list CSVs from the pipeline's inbox, PDFs on demand, and
(when tokens are set) the XML API's `GetSoldItems`.

The engine owns the cursor: `{"inbox": <last file read to the end>, "file": {"id": …,
"done": …}}` while a long file is committed in several batches, and `{"api": {"since": …,
"until": …, "after": …}}` for the XML API. A file that cannot be read at all (wrong columns,
not a CSV) becomes one `Rejected` naming the file; the file stays in the inbox, so after
fixing `[plugins.afterbuy.columns]` a `syncd reload` of the day it arrived reads it again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any, ClassVar

import httpx

from syncd.connectors import Batch, Catalog, ConnectorContext, Cursor, Rejected, Source, Window
from syncd.context import InboxItem
from syncd.errors import InputError, PermanentError, TransientError
from syncd.http import HttpClient, HttpClients, RateLimit
from syncd.model import Attachment, Document, DocumentKind
from syncd_afterbuy.config import AfterbuyConfig
from syncd_afterbuy.invoices import InvoiceList, open_invoice_list, pdf_filename
from syncd_afterbuy.origins import FirstSeen
from syncd_afterbuy.pdfzip import ZipPdfs, is_zip
from syncd_afterbuy.web import AfterbuyWeb, Send
from syncd_afterbuy.xmlapi import Page, parse_answer, request_xml

BATCH = 500
API_OVERLAP = timedelta(minutes=10)
"""Each poll re-reads this much before the last one (clock skew; re-read documents are no-ops)."""


def make_client(context: Any, config: AfterbuyConfig) -> HttpClient:
    """The shared HTTP client (`context.http`, or a standalone one outside the engine).

    One pacing budget per Afterbuy account (`rate_limit` per second) for every pipeline and
    worker using it."""
    http = getattr(context, "http", None) or HttpClients.standalone()
    account = config.username or (config.account_token.get_secret_value()
                                  if config.account_token else "anonymous")
    key = hashlib.sha256(account.encode()).hexdigest()[:12]
    return http.client(name="afterbuy", timeout=config.request_timeout.total_seconds(),
                       retries=3, rate=RateLimit(requests=config.rate_limit, per=1.0,
                                      key=f"afterbuy:{key}"))


class AfterbuySource(Source):
    name: ClassVar[str] = "afterbuy"
    config_model: ClassVar[type[AfterbuyConfig]] = AfterbuyConfig
    config: AfterbuyConfig

    def __init__(self, config: AfterbuyConfig, context: ConnectorContext) -> None:
        super().__init__(config, context)
        self._client: Any = None
        self._zips: ZipPdfs | None = None
        self._first_seen: FirstSeen | None = None
        self._web: AfterbuyWeb | None = None

    # plumbing ------------------------------------------------------------------------------
    @property
    def base_dir(self) -> str:
        """Where relative paths of the config resolve: the folder of syncd.toml."""
        return str(self.context.path("."))

    def send(self) -> Send:
        if self._client is None:
            self._client = make_client(self.context, self.config)
        return self._client.request

    @property
    def web(self) -> AfterbuyWeb:
        if self._web is None:
            self._web = AfterbuyWeb(self.config, lambda *a, **k: self.send()(*a, **k))
        return self._web

    def _log(self, event: str, **fields: Any) -> None:
        logger = getattr(self.context, "logger", None)
        if logger is not None:
            logger.info(event, **fields)

    def discover(self) -> Catalog:
        return Catalog(kinds=frozenset({DocumentKind.INVOICE, DocumentKind.CREDIT_NOTE}),
                       notes="Afterbuy invoice-list CSV via the inbox; PDFs via the web login")

    def check(self) -> None:
        """Log in (wrong password: ConfigError) and, with tokens, ask the API for one minute."""
        if self.config.username is not None:
            self.web._session()
        if self.config.api_enabled:
            now = self._now()
            self._api_page(now - timedelta(minutes=1), now, "ModDate", None)

    # reading -------------------------------------------------------------------------------
    def read(self, cursor: Cursor | None, window: Window | None = None) -> Iterator[Batch]:
        state = dict(cursor or {})
        if window is not None:
            yield from self._reload(window)
            return
        inbox = getattr(self.context, "inbox", None)
        if inbox is not None:
            done = state.get("inbox")
            partial = state.get("file") or {}
            for item in inbox.items(after=done):
                skip = partial.get("done", 0) if partial.get("id") == item.id else 0
                for items, progress in self._file_batches(item, skip):
                    if progress is None:
                        state = {**state, "inbox": item.id}
                        state.pop("file", None)
                    else:
                        state = {**state, "file": {"id": item.id, "done": progress}}
                    yield Batch(items, dict(state))
        if self.config.api_enabled:
            yield from self._poll_api(state)

    def _parse(self, item: InboxItem) -> InvoiceList:
        return open_invoice_list(
            self.context.inbox.read(item), item.filename, self.config,
            origin=f"{item.filename} (inbox {item.id})", key_prefix=f"inbox-{item.id}",
            base_dir=self.base_dir, origins=self.first_seen)

    @property
    def first_seen(self) -> FirstSeen:
        if self._first_seen is None:
            self._first_seen = FirstSeen(self.context.inbox, self._parse)
        return self._first_seen

    @property
    def zips(self) -> ZipPdfs:
        if self._zips is None:
            self._zips = ZipPdfs(getattr(self.context, "inbox", None))
        return self._zips

    def _open(self, item: InboxItem) -> InvoiceList | Rejected | None:
        """The parsed invoice list; None for a ZIP of PDFs (read by fetch_attachment)."""
        if is_zip(item):
            self._log("afterbuy PDF archive", file=item.filename, pdfs=self.zips.count(item))
            return None
        try:
            invoice_list = self._parse(item)
            self.first_seen.include(item, invoice_list)
        except InputError as exc:
            return Rejected(f"inbox-{item.id}", str(exc), {"file": item.filename,
                                                            "inbox_id": item.id})
        file = invoice_list.file
        if file.encoding_note and self.context.logger is not None:
            self.context.logger.warning("afterbuy file is not UTF-8", file=item.filename,
                                        encoding=file.encoding, message=file.encoding_note)
        return invoice_list

    def _file_batches(self, item: InboxItem, skip: int = 0
                      ) -> Iterator[tuple[list[Document | Rejected], int | None]]:
        """Chunks of one file; progress is the count done, None with the file's last chunk."""
        opened = self._open(item)
        if opened is None:
            yield [], None
            return
        if isinstance(opened, Rejected):
            yield [opened], None
            return
        total, done, batch = len(opened), min(skip, len(opened)), []
        rejected = 0
        for doc in opened.items(done):
            batch.append(doc)
            rejected += isinstance(doc, Rejected)
            done += 1
            if len(batch) == BATCH and done < total:
                yield batch, done
                batch = []
        self._log("afterbuy file read", file=item.filename, inbox_id=item.id, items=total,
                  rejected_now=rejected, resumed_at=skip, delimiter=opened.file.delimiter,
                  decimal=opened.decimal, encoding=opened.file.encoding)
        yield batch, None

    def _reload(self, window: Window) -> Iterator[Batch]:
        inbox = getattr(self.context, "inbox", None)
        if inbox is not None:
            for item in inbox.items(after=None):
                received = item.received_at.date()
                if window.start <= received < window.end:
                    for items, _ in self._file_batches(item):
                        yield Batch(items, None)
        if self.config.api_enabled:
            start = datetime.combine(window.start, time())
            end = datetime.combine(window.end, time()) - timedelta(seconds=1)
            after: int | None = None
            while True:
                page = self._api_page(start, end, "InvoiceDate", after)
                yield Batch(page.items, None)
                if not page.has_more or page.last_order_id is None:
                    break
                after = page.last_order_id

    # XML API -------------------------------------------------------------------------------
    def _now(self) -> datetime:
        return datetime.now(self.context.timezone).replace(tzinfo=None, microsecond=0)

    def _poll_api(self, state: dict[str, Any]) -> Iterator[Batch]:
        api = dict(state.get("api") or {})
        if "until" in api:  # an interrupted poll resumes on the same range
            since = datetime.fromisoformat(api["since"])
            until = datetime.fromisoformat(api["until"])
        else:
            first = self.config.api_since
            since = (datetime.fromisoformat(api["since"]) if "since" in api else
                     datetime.combine(first, time()) if first else self._now() - timedelta(days=30))
            until = self._now()
        after = api.get("after")
        while True:
            page = self._api_page(since, until, "ModDate", after)
            if page.has_more and page.last_order_id is not None:
                after = page.last_order_id
                api = {"since": since.isoformat(), "until": until.isoformat(), "after": after}
            else:
                api = {"since": (until - API_OVERLAP).isoformat()}
            yield Batch(page.items, {**state, "api": api})
            if "until" not in api:
                return

    def _api_page(self, since: datetime, until: datetime, field: str, after: int | None) -> Page:
        body = request_xml(self.config, date_from=since, date_to=until, date_field=field,
                           after_order=after)
        response = self.send()("POST", self.config.api_url, content=body, retry_unsafe=True,
                               headers={"Content-Type": "application/xml; charset=utf-8"})
        # GetSoldItems only reads: a POST that is safe to repeat after a 5xx or a timeout
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientError(f"Afterbuy XML API: HTTP {response.status_code}",
                                 code=str(response.status_code))
        if response.status_code != 200:
            raise InputError("Afterbuy XML API", f"HTTP {response.status_code}: "
                             f"{response.text[:200]}")
        page = parse_answer(response.content, self.config, self.base_dir)
        self._log("afterbuy GetSoldItems", orders=len(page.items), has_more=page.has_more,
                  last_order_id=page.last_order_id, filter=field)
        return page

    # attachments ---------------------------------------------------------------------------
    def fetch_attachment(self, document: Document, attachment: Attachment) -> bytes:
        number = document.number or document.source_key
        if self.config.pdf_folder is not None:
            path = self.context.path(self.config.pdf_folder) / pdf_filename(number)
            if path.is_file():
                return _pdf_bytes(path, number)
        zipped = self.zips.find(number)
        if zipped is not None:
            if not zipped.startswith(b"%PDF-"):
                raise PermanentError(f"PDF of invoice {number} in an uploaded ZIP is not a PDF")
            return zipped
        url = attachment.url or ""
        if url.startswith(("http://", "https://")):
            return self.web.download(url, number)
        if url.startswith("file://"):
            path = Path(httpx.URL(url).path)
            if path.is_file():
                return _pdf_bytes(path, number)
            raise PermanentError(f"no PDF for invoice {number} ({path} does not exist)")
        raise PermanentError(f"no PDF for invoice {number}: neither pdf_folder nor pdf_url "
                             f"has it ({url or 'no url'})")

    def close(self) -> None:
        self._web = None  # the session cookie goes with it
        if self._client is not None:
            self._client.close()
            self._client = None


def _pdf_bytes(path: Path, number: str) -> bytes:
    data = path.read_bytes()
    if not data.startswith(b"%PDF-"):
        raise PermanentError(f"PDF of invoice {number}: {path} is not a PDF")
    return data
