"""Rows of an Afterbuy invoice list → one Document per invoice number, or a Rejected.

Rows may be one per invoice or one per item: rows sharing an invoice number make one
document with a line per row and a VAT breakdown per rate. A document whose total is negative
(or whose number matches `credit_note_pattern`) is a credit note with positive amounts. Every
problem names the file, the line and the column; one bad row rejects its invoice only.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

from syncd.connectors import Rejected
from syncd.errors import DocumentValidationError, InputError
from syncd.model import (
    CENT,
    Address,
    Attachment,
    AttachmentRole,
    Buyer,
    Document,
    DocumentKind,
    LegalNotes,
    Line,
    LineKind,
    Link,
    LinkKind,
    References,
    build_document,
)
from syncd_afterbuy.amounts import (
    ValueProblem,
    country_code,
    currency_code,
    detect_decimal,
    parse_date,
    parse_money,
    parse_number,
    parse_rate,
)
from syncd_afterbuy.config import REQUIRED_COLUMNS, AfterbuyConfig
from syncd_afterbuy.csvfile import CsvFile

SOURCE = "afterbuy"
NO_LEGAL_NOTES = LegalNotes()
"""Shared instead of pydantic's deep-copied default (a third of the build time)."""
CONSISTENT = ("invoice_date", "buyer_name", "buyer_company", "buyer_vat_id", "country",
              "currency", "paid_date", "payment_method")
"""Fields every row of one invoice must agree on (item rows may leave them empty)."""


@dataclass
class Problem:
    line: int
    column: str
    message: str


@dataclass(slots=True)
class _Row:
    line: int
    values: tuple[str, ...]
    """The mapped cells only, stripped, in `InvoiceList.fields` order (memory: big files)."""


@dataclass
class _Invoice:
    number: str
    rows: list[_Row] = field(default_factory=list)

    def fingerprint(self) -> str:
        """The invoice's content in this file: every mapped cell of its rows, in order."""
        digest = hashlib.blake2b(digest_size=16)
        for row in self.rows:
            digest.update("\x1f".join(row.values).encode())
            digest.update(b"\x1e")
        return digest.hexdigest()


Origin = tuple[str, str, str]
"""Where an invoice's content was first seen: (file as named in messages, lines, encoding)."""
Origins = Callable[[str, str], "Origin | None"]
"""`origins(invoice_number, fingerprint)`: the earliest upload holding exactly this content."""


_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


def pdf_filename(number: str) -> str:
    """`<number>.pdf` as a plain file name: an invoice number holding `/` (or another
    character a file name cannot hold) never points into another folder."""
    return f"{_UNSAFE.sub('_', number)}.pdf"


def pdf_attachment(config: AfterbuyConfig, base_dir: str | None, number: str) -> Attachment | None:
    """The invoice PDF by reference: the configured download URL, else the PDF folder."""
    filename = pdf_filename(number)
    if config.pdf_url:
        url = config.pdf_url.replace("{invoice_number}", quote(number, safe=""))
    elif config.pdf_folder is not None:
        folder = config.pdf_folder
        if not folder.is_absolute() and base_dir:
            folder = Path(base_dir) / folder
        url = (folder.resolve() / filename).as_uri()
    else:
        return None
    return Attachment(filename=filename, media_type="application/pdf", role=AttachmentRole.PDF,
                      url=url)


def _kind(description: str) -> LineKind:
    text = description.casefold()
    return LineKind.SHIPPING if text.startswith(("versand", "porto", "shipping")) else LineKind.ITEM


class InvoiceList:
    """Turns one parsed CSV into documents; `origin` names the file in every message."""

    def __init__(self, csvfile: CsvFile, config: AfterbuyConfig, *, origin: str | None = None,
                 key_prefix: str | None = None, base_dir: str | None = None,
                 origins: Origins | None = None) -> None:
        self.file = csvfile
        self.origins = origins
        self.config = config
        self.origin = origin or csvfile.filename
        self.key_prefix = key_prefix or csvfile.filename
        self.base_dir = base_dir
        self.mapping = config.columns.mapping()
        match = csvfile.describe(self.mapping)
        missing = [name for name in match.missing if name in REQUIRED_COLUMNS]
        if missing or match.duplicates:
            raise InputError(self.origin, self._header_problem(missing, match.duplicates))
        self.index = match.index
        self.fields = list(match.index)
        self._take = [match.index[name] for name in self.fields]
        self._pos = {name: i for i, name in enumerate(self.fields)}
        self._groups: tuple[list[_Invoice], list[Rejected]] | None = None
        self._wide: dict[int, int] = {}
        """Line → field count, for rows with non-empty fields beyond the last header."""
        self.credit_pattern = (re.compile(config.credit_note_pattern)
                               if config.credit_note_pattern else None)
        self.decimal = config.decimal if config.decimal != "auto" else self._detect_decimal()

    def _header_problem(self, missing: list[str], duplicates: dict[str, list[str]]) -> str:
        parts = []
        if missing:
            parts.append("missing column(s) " + ", ".join(
                f"{self.mapping[name]!r} ({name})" for name in missing))
        for name, found in duplicates.items():
            parts.append(f"column {self.mapping[name]!r} ({name}) appears {len(found)} times")
        expected = ", ".join(f"{k}={v!r}" for k, v in self.mapping.items())
        found = ", ".join(repr(h) for h in self.file.headers)
        return (f"{'; '.join(parts)}. Columns found: {found}. Mapping expected "
                f"([plugins.afterbuy.columns]): {expected}")

    def _detect_decimal(self) -> str:
        columns = [self.index[n] for n in ("gross", "net", "vat") if n in self.index]
        samples = []
        for n, (_, cells) in enumerate(self.file.rows()):
            samples.extend(cells[i] for i in columns if i < len(cells))
            if n >= 2000:
                break
        return detect_decimal(samples)

    def _cell(self, row: _Row, name: str) -> str:
        i = self._pos.get(name)
        return row.values[i] if i is not None else ""

    def __len__(self) -> int:
        invoices, orphans = self.groups()
        return len(invoices) + len(orphans)

    def items(self, skip: int = 0) -> Iterator[Document | Rejected]:
        """Documents in the order their first row appears, then rows without a number.

        Built one at a time (a 100,000-row file is never a list of Documents); `skip` passes
        over the first items without building them (a resumed file).
        """
        invoices, orphans = self.groups()
        for invoice in invoices[skip:]:
            yield self.build(invoice)
        yield from orphans[max(0, skip - len(invoices)):]

    def fingerprints(self) -> Iterator[tuple[str, str, Origin]]:
        """(invoice number, fingerprint, origin in this file) for each invoice of the file."""
        for invoice in self.groups()[0]:
            yield invoice.number, invoice.fingerprint(), (
                self.origin, ",".join(str(r.line) for r in invoice.rows), self.file.encoding)

    def groups(self) -> tuple[list[_Invoice], list[Rejected]]:
        if self._groups is None:
            self._groups = self._group()
        return self._groups

    def _group(self) -> tuple[list[_Invoice], list[Rejected]]:
        invoices: dict[str, _Invoice] = {}
        orphans: list[Rejected] = []
        take = self._take
        columns = len(self.file.headers)
        for line, cells in self.file.rows():
            width = len(cells)
            if width > columns and any(cell.strip() for cell in cells[columns:]):
                self._wide[line] = width  # shifted: its cells are not under their headers
            row = _Row(line, tuple(cells[i].strip() if i < width else "" for i in take))
            number = self._cell(row, "invoice_number")
            if not number:
                column = self.mapping["invoice_number"]
                orphans.append(Rejected(
                    f"{self.key_prefix}:line-{line}",
                    f"{self.origin}:{line}: column {column!r}: empty invoice number",
                    {"file": self.origin, "line": line, "column": column}))
                continue
            invoices.setdefault(number, _Invoice(number)).rows.append(row)
        return list(invoices.values()), orphans

    def _reject(self, invoice: _Invoice, problems: list[Problem]) -> Rejected:
        text = "; ".join(f"{self.origin}:{p.line}: column {p.column!r}: {p.message}"
                         for p in problems)
        return Rejected(invoice.number, text, {
            "file": self.origin,
            "lines": [r.line for r in invoice.rows],
            "problems": [{"line": p.line, "column": p.column, "message": p.message}
                         for p in problems],
        })

    def build(self, invoice: _Invoice) -> Document | Rejected:
        problems = [Problem(row.line, self.file.headers[-1], (
            f"the line has {self._wide[row.line]} fields, the header "
            f"{len(self.file.headers)}: a field holding {self.file.delimiter!r} without quotes? "
            "Its values are not under their headers")) for row in invoice.rows
            if row.line in self._wide]
        head, where = self._head(invoice, problems)
        lines = [self._line(row, problems) for row in invoice.rows]
        issue = self._value(head, "invoice_date", problems, self._date, where)
        paid = self._value(head, "paid_date", problems, self._date, where)
        country = self._value(head, "country", problems, country_code, where)
        currency = self._value(head, "currency", problems, currency_code, where)
        if problems:
            return self._reject(invoice, problems)
        try:
            return self._document(invoice, head, [line for line in lines if line is not None],
                                  issue, paid, country, currency)
        except (DocumentValidationError, ValueError) as exc:
            return self._reject(invoice, [Problem(head.line, self.mapping["gross"], str(exc))])

    def _date(self, text: str) -> date:
        return parse_date(text, self.config.date_format)

    def _same(self, name: str, a: str, b: str) -> bool:
        """Whether two cells of one invoice agree: dates, countries and currencies by value
        (`3.11.2026` is `03.11.2026`, `Deutschland` is `DE`), everything else as written."""
        if a == b:
            return True
        read = {"invoice_date": self._date, "paid_date": self._date, "country": country_code,
                "currency": currency_code}.get(name)
        if read is None:
            return False
        try:
            return bool(read(a) == read(b))
        except ValueProblem:  # an unreadable cell disagrees (and is reported as such)
            return False

    def _head(self, invoice: _Invoice, problems: list[Problem]) -> tuple[_Row, dict[str, int]]:
        """The invoice-level values: each field's first non-empty cell among the rows, and
        the line each was taken from (a problem with it names that line).

        Item rows may repeat them or leave them empty; two different values are a problem.
        """
        values = list(invoice.rows[0].values)
        seen: dict[str, int] = {}
        consistent = [(name, self._pos[name]) for name in CONSISTENT if name in self._pos]
        for row in invoice.rows:
            for name, pos in consistent:
                value = row.values[pos]
                if not value:
                    continue
                if name not in seen:
                    seen[name] = row.line
                    values[pos] = value
                elif not self._same(name, value, values[pos]):
                    problems.append(Problem(row.line, self.mapping[name],
                                            f"{value!r} disagrees with {values[pos]!r} on line "
                                            f"{seen[name]} of invoice {invoice.number}"))
        return _Row(invoice.rows[0].line, tuple(values)), seen

    def _value(self, row: _Row, name: str, problems: list[Problem],
               parse: Callable[[str], Any], where: dict[str, int] | None = None) -> Any:
        """The parsed cell; a problem names `where[name]` (the head's source line) or the row."""
        text = self._cell(row, name)
        line = (where or {}).get(name, row.line)
        if not text:
            if name in REQUIRED_COLUMNS:
                problems.append(Problem(line, self.mapping[name], "empty"))
            return None
        try:
            return parse(text)
        except ValueProblem as exc:
            problems.append(Problem(line, self.mapping[name], str(exc)))
            return None

    def _line(self, row: _Row, problems: list[Problem]) -> dict | None:
        before = len(problems)
        money = lambda v: parse_money(v, self.decimal)  # noqa: E731
        gross = self._value(row, "gross", problems, money)
        rate = self._value(row, "vat_rate", problems, lambda v: parse_rate(v, self.decimal))
        net = self._value(row, "net", problems, money)
        vat = self._value(row, "vat", problems, money)
        quantity = self._value(row, "quantity", problems, lambda v: parse_number(v, self.decimal))
        if len(problems) > before or gross is None or rate is None:
            return None
        if net is None and vat is None:
            net = (gross / (1 + rate)).quantize(CENT, ROUND_HALF_UP)
            vat = gross - net
        elif net is None:
            net = gross - vat
        elif vat is None:
            vat = gross - net
        if net + vat != gross:
            problems.append(Problem(row.line, self.mapping["gross"],
                                    f"net {net} + VAT {vat} = {net + vat}, not the gross {gross}"))
            return None
        qty = quantity if quantity is not None else Decimal(1)
        tolerance = CENT * max(2, abs(qty).to_integral_value())
        if abs(net * rate - vat) > tolerance:
            percent = f"{(rate * 100).normalize():f}"
            problems.append(Problem(row.line, self.mapping.get("vat", self.mapping["vat_rate"]),
                                    f"VAT {vat} is not {percent} % of the net {net}"))
            return None
        number = self._cell(row, "invoice_number")
        description = self._cell(row, "description") or f"Rechnung {number}"
        return {"description": description, "quantity": qty, "net": net,
                "vat": vat, "gross": gross, "vat_rate": rate, "line": row.line,
                "sku": self._cell(row, "sku") or None,
                "order_id": self._cell(row, "order_id") or None}

    def _document(self, invoice: _Invoice, head: _Row, lines: list[dict], issue: date | None,
                  paid: date | None, country: str | None, currency: str | None) -> Document:
        total = sum((line["gross"] for line in lines), Decimal(0))
        credit = total < 0 or bool(self.credit_pattern and
                                   self.credit_pattern.search(invoice.number))
        sign = -1 if total < 0 else 1
        cell = lambda name: self._cell(head, name) or None  # noqa: E731
        buyer = Buyer(name=cell("buyer_name"), company=cell("buyer_company"),
                      vat_id=cell("buyer_vat_id"))
        country = country or self.config.default_country
        # the upload that first held exactly this content: an unchanged invoice in a later,
        # overlapping export stays the same document (no revision), a changed one names its file
        origin, where, encoding = (self.origins and self.origins(
            invoice.number, invoice.fingerprint())) or (
            self.origin, ",".join(str(line["line"]) for line in lines), self.file.encoding)
        extra = {"afterbuy:file": origin, "afterbuy:line": where}
        if paid is not None:
            extra["afterbuy:paid_date"] = paid.isoformat()
        if cell("payment_method"):
            extra["afterbuy:payment_method"] = cell("payment_method") or ""
        if encoding != "utf-8":
            extra["afterbuy:encoding"] = encoding
        original = cell("original_invoice_number") if credit else None
        pdf = pdf_attachment(self.config, self.base_dir, invoice.number)
        return build_document(
            kind=DocumentKind.CREDIT_NOTE if credit else DocumentKind.INVOICE,
            source=SOURCE, source_key=invoice.number, number=invoice.number,
            currency=currency or self.config.default_currency,
            issue_date=issue, buyer=buyer,
            billing_address=Address(name=buyer.name, company=buyer.company, country=country),
            references=References(order_id=cell("order_id")),
            original_invoice_number=original,
            links=(Link(kind=LinkKind.INVOICE, source_key=original, required=False),)
            if original else (),
            attachments=(pdf,) if pdf else (), legal=NO_LEGAL_NOTES,
            extra=extra,
            lines=[Line(kind=_kind(line["description"]), description=line["description"],
                        quantity=line["quantity"],
                        sku=line["sku"], order_id=line["order_id"],
                        net=sign * line["net"], vat=sign * line["vat"],
                        gross=sign * line["gross"], vat_rate=line["vat_rate"])
                   for line in lines],
        )


def open_invoice_list(data: bytes, filename: str, config: AfterbuyConfig, *,
                      origin: str | None = None, key_prefix: str | None = None,
                      base_dir: str | None = None, origins: Origins | None = None) -> InvoiceList:
    """Decode, detect the dialect, match the headers (InputError when that is impossible)."""
    csvfile = CsvFile.parse(data, filename, config.columns.mapping(), config.delimiter)
    return InvoiceList(csvfile, config, origin=origin, key_prefix=key_prefix, base_dir=base_dir,
                       origins=origins)


def read_invoice_list(data: bytes, filename: str, config: AfterbuyConfig, **options: Any
                      ) -> tuple[InvoiceList, list[Document | Rejected]]:
    """A whole export as a list (tests, small files); the source streams `items()` instead."""
    invoice_list = open_invoice_list(data, filename, config, **options)
    return invoice_list, list(invoice_list.items())
