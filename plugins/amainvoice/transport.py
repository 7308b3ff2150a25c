"""The two ways Amainvoice data arrives: one form POST per (day, type), or files in a folder.

Every answer shape the public Xentral module knows is told apart here (spec README): a JSON
list of rows, a single row object, the throttle signals (`Throttel is On`,
`{"error": …, "throttled": true}`), error answers (`{"error": …}`,
`Error: Parameters not loaded [0]`) and garbage (HTML, empty, truncated JSON). Throttling is
an exception of its own because it is a rate, not a failure: the fetcher waits and asks again.
"""

from __future__ import annotations

import gc
import hashlib
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

import httpx

from syncd.errors import ConfigError, InputError, TransientError
from syncd.http import HttpClient, HttpClients, RateLimit
from syncd.http.client import register_secrets

KINDS = ("inv", "rem")
DATA_TYPE = {"inv": "inv", "rem": "rem", "tax": "basicdatatax"}
THROTTLE_TEXTS = ("throttel is on", "throttle is on")


def unit_name(day: date | None, kind: str) -> str:
    """The virtual file name Xentral's module uses, e.g. `2026-11-03.inv`."""
    return f"{day.isoformat() if day else 'today'}.{kind}"


class Throttled(Exception):
    """The remote asked us to slow down; `retry_after` seconds when it said so."""

    def __init__(self, where: str, retry_after: float | None = None) -> None:
        self.where = where
        self.retry_after = retry_after
        super().__init__(f"{where}: Amainvoice is throttling")


class Refused(InputError):
    """The remote answered `{"error": …}`: it will not give this (day, type)."""

    def __init__(self, where: str, message: str, answer: str = "") -> None:
        super().__init__(where, message)
        self.answer = answer  # the remote's own words


@dataclass(frozen=True)
class Answer:
    """A parsed answer: rows for .inv/.rem, the object for .tax, and a fingerprint."""

    rows: list[dict[str, str]]
    tax: dict[str, Any] | None
    fingerprint: str


def _text(value: Any) -> str:
    if value is None or value is False:
        return ""
    if value is True:
        return "1"
    return str(value)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC: a big day allocates millions of small objects that all stay
    alive, and repeated full collections over them cost more than the parsing itself."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse_answer(status: int, body: bytes, day: date | None, kind: str) -> Answer:
    """Turn one raw answer into rows (or the .tax object); raise on every other shape."""
    with gc_paused():
        return _parse(status, body, day, kind)


def _parse(status: int, body: bytes, day: date | None, kind: str) -> Answer:
    where = f"Amainvoice {unit_name(day, kind)}"
    text = body.decode("utf-8", errors="replace").strip()
    fingerprint = hashlib.sha256(body).hexdigest()
    if text.lower() in THROTTLE_TEXTS:
        raise Throttled(where)
    if text.startswith("Error: Parameters not loaded"):
        raise InputError(where, f"the remote answered {text[:80]!r} (HTTP {status}): it did "
                                "not accept the request parameters")
    if status >= 500 and not text.startswith("{"):
        raise TransientError(f"{where}: HTTP {status}: {text[:80]!r}", code=str(status))
    if not text:
        raise InputError(where, f"empty answer (HTTP {status})")
    try:
        data = json.loads(text, parse_float=str, parse_int=str)
    except json.JSONDecodeError as exc:
        snippet = text[:120].replace("\n", " ")
        raise InputError(where, f"answer is not JSON (HTTP {status}, {exc.msg} at char "
                                f"{exc.pos}): {snippet!r}") from None
    if isinstance(data, dict) and "error" in data:
        message = _text(data.get("error"))[:300]
        if data.get("throttled") not in (None, False, "", "0", "false"):
            raise Throttled(where)
        if status in (401, 403):
            raise ConfigError([f"plugins.amainvoice: Amainvoice refused the credentials "
                               f"(HTTP {status}: {message}); check customer_number and "
                               "auth_token"])
        raise Refused(where, f"the remote answered an error (HTTP {status}): {message}",
                      message)
    if status >= 500:
        raise TransientError(f"{where}: HTTP {status}", code=str(status))
    if not 200 <= status < 300:
        raise InputError(where, f"HTTP {status}: {text[:120]!r}")
    if kind == "tax":
        if not isinstance(data, dict) or not ({"thresholdCountries", "closedThresholds"}
                                              & data.keys()):
            raise InputError(where, "expected an object with thresholdCountries and "
                                    f"closedThresholds, got {text[:80]!r}")
        return Answer([], data, fingerprint)
    if isinstance(data, dict) and ("inv_rech_nr" in data or "rem_gs_nr" in data):
        data = [data]  # a single row counts as a list of one
    if not isinstance(data, list):
        raise InputError(where, f"expected a JSON list of rows, got {type(data).__name__}: "
                                f"{text[:80]!r}")
    rows: list[dict[str, str]] = []
    for index, row in enumerate(data):
        if not isinstance(row, dict):
            raise InputError(f"{where} row {index}", f"a row must be an object, got {row!r:.60}")
        rows.append({str(k): _text(v) for k, v in row.items()})
    return Answer(rows, None, fingerprint)


class Transport(Protocol):
    def fetch(self, day: date | None, kind: str) -> Answer | None:
        """One (day, type); None when there is nothing (yet) to read (folder: no file)."""
        ...

    def download(self, url: str) -> httpx.Response: ...

    def close(self) -> None: ...


def build_http_client(http: HttpClients | None, customer_number: str, rate: float,
                      timeout: float, purpose: str = "amainvoice") -> HttpClient:
    """The shared client (`context.http`), paced per Amainvoice account across workers.

    It retries nothing itself (`retries=0`): throttling and failures go back to the fetcher,
    whose shared gate pauses every worker and halves the requests in flight.
    """
    factory = http or HttpClients.standalone()
    account = hashlib.sha256(customer_number.encode()).hexdigest()[:12]
    per_second = max(1, math.ceil(rate))
    return factory.client(name=purpose, timeout=timeout, retries=0,
                          follow_redirects=True, headers={"User-Agent": "syncd-amainvoice"},
                          rate=RateLimit(requests=per_second, per=per_second / rate,
                                         key=f"{purpose}:{account}"))


class Downloads:
    """The `documentlink` PDFs: their own client and pace, so that fetching thousands of
    PDFs never eats into the budget of the day requests (nor waits behind it)."""

    def __init__(self, http: HttpClients | None, account: str, rate: float,
                 timeout: float) -> None:
        self._args = (http, account, rate, timeout)
        self._client: HttpClient | None = None

    def get(self, url: str) -> httpx.Response:
        if self._client is None:
            http, account, rate, timeout = self._args
            self._client = build_http_client(http, account, rate, timeout, "amainvoice-pdf")
        return self._client.get(url)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


class HttpTransport:
    """`POST endpoint` with form field `paras` (the JSON the spec README documents)."""

    def __init__(self, endpoint: str, customer_number: str, auth_token: str,
                 timeout: float = 60.0, rate: float = 2.0,
                 http: HttpClients | None = None, pdf_rate: float = 10.0) -> None:
        self.endpoint = endpoint
        self.customer_number = customer_number
        self._token = auth_token
        register_secrets([auth_token])
        self.client = build_http_client(http, customer_number, rate, timeout)
        self.downloads = Downloads(http, customer_number, pdf_rate, timeout)

    def paras(self, day: date | None, kind: str) -> dict[str, Any]:
        paras: dict[str, Any] = {"firm_key_id": self.customer_number,
                                 "client_identifier": self._token,
                                 "data_type": DATA_TYPE[kind], "json": False}
        if day is not None:
            paras["start_date"] = paras["end_date"] = day.isoformat()
        return paras

    def fetch(self, day: date | None, kind: str) -> Answer:
        where = f"Amainvoice {unit_name(day, kind)}"
        try:
            response = self.client.post(self.endpoint,
                                        data={"paras": json.dumps(self.paras(day, kind))})
        except httpx.TimeoutException as exc:
            raise TransientError(f"{where}: timeout ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise TransientError(f"{where}: {type(exc).__name__}: {exc}") from None
        if response.status_code == 429 and not response.content.strip().startswith(b"{"):
            retry = response.headers.get("retry-after")
            raise Throttled(where, float(retry) if retry and retry.isdigit() else None)
        return parse_answer(response.status_code, self._masked(response.content), day, kind)

    def _masked(self, body: bytes) -> bytes:
        """The body without our token: error answers are quoted into errors, events and logs,
        and a proxy that quotes the request back would otherwise put the secret there."""
        token = self._token.encode()
        return body.replace(token, b"***") if token and token in body else body

    def download(self, url: str) -> httpx.Response:
        return self.downloads.get(url)

    def close(self) -> None:
        self.client.close()
        self.downloads.close()


class FolderTransport:
    """`<folder>/YYYY-MM-DD.inv|.rem|.tax` holding the same JSON as the HTTP answers."""

    def __init__(self, folder: Path, timeout: float = 60.0,
                 http: HttpClients | None = None, pdf_rate: float = 10.0) -> None:
        self.folder = folder
        self.downloads = Downloads(http, str(folder), pdf_rate, timeout)

    def path(self, day: date | None, kind: str) -> Path:
        return self.folder / unit_name(day, kind)

    def fetch(self, day: date | None, kind: str) -> Answer | None:
        path = self.path(day, kind)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise InputError(str(path), f"cannot read: {exc}") from None
        try:
            return parse_answer(200, data, day, kind)
        except InputError as exc:
            raise InputError(str(path), str(exc)) from None

    def tax_files(self) -> list[Path]:
        return sorted(self.folder.glob("????-??-??.tax"))

    def download(self, url: str) -> httpx.Response:
        return self.downloads.get(url)

    def close(self) -> None:
        self.downloads.close()
