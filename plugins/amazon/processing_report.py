"""The feed processing report of UPLOAD_VAT_INVOICE: windows-1252 text with an error table.

Layout (as the emulator writes it, modelled on Amazon's flat-file processing reports):

    Feed Processing Summary:
    \tNumber of records processed\t\t1
    \tNumber of records successful\t\t0

    original-record-number\torder-id\tshipping-id\terror-code\terror-type\terror-message
    1\t\tSHIP0001\t79513\tError\tMissing required metadata: metadata:InvoiceNumber

The parser reads the table by header name, so extra or reordered columns do not matter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_COUNT = re.compile(r"number of records (processed|successful)\D*(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class ReportError:
    code: str
    kind: str
    message: str

    @property
    def is_error(self) -> bool:
        return self.kind.lower() != "warning"


@dataclass(frozen=True)
class ProcessingReport:
    processed: int | None
    successful: int | None
    errors: list[ReportError] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        if any(e.is_error for e in self.errors):
            return False
        return not (self.processed is not None and self.successful is not None
                    and self.successful < self.processed)

    def summary(self) -> str:
        if not self.errors:
            return f"{self.successful} of {self.processed} records successful"
        return "; ".join(f"{e.code}: {e.message}" for e in self.errors)


def decode(data: bytes, charset: str | None = None) -> str:
    """Amazon writes these in windows-1252 unless the Content-Type says otherwise."""
    for encoding in (charset, "cp1252"):
        if not encoding:
            continue
        try:
            return data.decode(encoding).lstrip("\ufeff")
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("cp1252", errors="replace")


def parse(text: str) -> ProcessingReport:
    counts: dict[str, int] = {}
    errors: list[ReportError] = []
    header: list[str] | None = None
    for line in text.splitlines():
        if header is None:
            match = _COUNT.search(line)
            if match:
                counts[match.group(1).lower()] = int(match.group(2))
                continue
            cells = [c.strip().lower() for c in line.split("\t")]
            if "error-code" in cells:
                header = cells
            continue
        if not line.strip():
            continue
        values = dict(zip(header, (c.strip() for c in line.split("\t")), strict=False))
        errors.append(ReportError(
            code=values.get("error-code", ""),
            kind=values.get("error-type", "Error") or "Error",
            message=values.get("error-message", ""),
        ))
    return ProcessingReport(counts.get("processed"), counts.get("successful"), errors)


def render(processed: int, errors: list[ReportError], *, shipping_id: str = "",
           order_id: str = "") -> bytes:
    """The report text in windows-1252 (used by the emulator)."""
    successful = processed - (1 if any(e.is_error for e in errors) else 0)
    lines = [
        "Feed Processing Summary:",
        f"\tNumber of records processed\t\t{processed}",
        f"\tNumber of records successful\t\t{successful}",
        "",
        "original-record-number\torder-id\tshipping-id\terror-code\terror-type\terror-message",
    ]
    lines += [f"1\t{order_id}\t{shipping_id}\t{e.code}\t{e.kind}\t{e.message}" for e in errors]
    return ("\r\n".join(lines) + "\r\n").encode("cp1252", errors="replace")
