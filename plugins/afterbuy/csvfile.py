"""Reading one Afterbuy CSV export: encoding, dialect and header mapping.

The export is documented as UTF-8, but a file saved again by a spreadsheet is often
windows-1252; that is detected (strict decoding first, charset-normalizer as the tie-breaker)
and named in `CsvFile.encoding_note`. A file mixing both (UTF-8 lines with umlauts next to
cp1252 lines) is read line by line, so neither half turns into mojibake, and the note names
the cp1252 lines. The delimiter is the candidate under which the header
row matches the most mapped column names (csv.Sniffer decides ties and the quoting), so a
quoted field holding `;` cannot fool it. Headers are matched by name: case, spaces, `-`, `_`,
`.` and a BOM do not matter; unknown columns are ignored.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field

from syncd.errors import InputError

CANDIDATES = (";", ",", "\t")
_NOISE = re.compile(r"[\s\-_.\ufeff]+")


def normalise_header(name: str) -> str:
    return _NOISE.sub("", unicodedata.normalize("NFKC", name)).casefold()


def decode(data: bytes, filename: str) -> tuple[str, str, str | None]:
    """The text, its encoding and a note when it was not UTF-8 (InputError when unreadable)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16", (
                f"{filename} is UTF-16; read as such. Export with character encoding UTF-8.")
        except UnicodeDecodeError as exc:
            raise InputError(filename, f"broken UTF-16 at byte {exc.start}") from None
    if b"\x00" in data[:8192]:
        raise InputError(filename, "not a text file (it holds NUL bytes): upload the CSV "
                         "export of the Rechnungsliste")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), "utf-8", None
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    mixed = _per_line(data)
    if mixed is not None:
        text, bad_lines = mixed
        shown = ", ".join(map(str, bad_lines[:5])) + (" …" if len(bad_lines) > 5 else "")
        return text, "utf-8+cp1252", (
            f"{filename} mixes encodings: line(s) {shown} are not UTF-8 and were read as "
            "cp1252, the other lines as UTF-8. Check the names on those lines; export again "
            "with character encoding UTF-8.")
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
        if best is None:
            raise InputError(filename, f"not UTF-8 (byte {first_bad}) and no other text "
                             "encoding fits; export again with character encoding UTF-8") from None
        encoding = best.encoding
        text = str(best)
    else:
        encoding = "cp1252"
    note = (f"{filename} is not UTF-8 (first non-UTF-8 byte at offset {first_bad}); read as "
            f"{encoding}. Export with character encoding UTF-8 to avoid the guess.")
    return text, encoding, note


def _per_line(data: bytes) -> tuple[str, list[int]] | None:
    """A file whose lines are partly UTF-8 (with non-ASCII text) and partly cp1252, e.g. rows
    pasted from another program: each line in its own encoding, and the cp1252 line numbers.
    None when no UTF-8 line holds non-ASCII text (then the file is simply not UTF-8)."""
    parts, bad, utf8_text = [], [], False
    for number, line in enumerate(data.splitlines(keepends=True), start=1):
        try:
            part = line.decode("utf-8")
        except UnicodeDecodeError:
            try:
                part = line.decode("cp1252")
            except UnicodeDecodeError:
                return None
            bad.append(number)
        else:
            utf8_text = utf8_text or not part.isascii()
        parts.append(part)
    return ("".join(parts), bad) if utf8_text else None


@dataclass
class HeaderMatch:
    """Which column of the file holds which document field."""

    headers: list[str]
    index: dict[str, int]
    """Field → column position, for the mapped fields found in the file."""
    missing: list[str]
    """Mapped fields whose header the file lacks."""
    duplicates: dict[str, list[str]] = field(default_factory=dict)


def match_headers(headers: list[str], mapping: dict[str, str]) -> HeaderMatch:
    positions: dict[str, list[int]] = {}
    for i, header in enumerate(headers):
        positions.setdefault(normalise_header(header), []).append(i)
    index, missing, duplicates = {}, [], {}
    for name, header in mapping.items():
        found = positions.get(normalise_header(header), [])
        if not found:
            missing.append(name)
        elif len(found) > 1:
            duplicates[name] = [headers[i] for i in found]
        else:
            index[name] = found[0]
    return HeaderMatch(headers, index, missing, duplicates)


def _first_record(text: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])
    except csv.Error:
        return []


def choose_delimiter(text: str, mapping: dict[str, str], configured: str = "auto") -> str:
    if configured != "auto":
        return configured
    sample = text[:65536]
    wanted = {normalise_header(h) for h in mapping.values()}
    scores = {}
    for candidate in CANDIDATES:
        header = _first_record(sample, candidate)
        scores[candidate] = (sum(normalise_header(h) in wanted for h in header), len(header))
    best = max(scores.values())
    tied = [c for c, score in scores.items() if score == best]
    if len(tied) == 1:
        return tied[0]
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters="".join(CANDIDATES)).delimiter
    except csv.Error:
        return tied[0]
    return sniffed if sniffed in tied else tied[0]


@dataclass
class CsvFile:
    """A decoded, dialect-detected export; `rows()` yields (line number, cells)."""

    filename: str
    text: str
    encoding: str
    encoding_note: str | None
    delimiter: str
    headers: list[str]
    header_lines: int

    @classmethod
    def parse(cls, data: bytes, filename: str, mapping: dict[str, str],
              delimiter: str = "auto") -> CsvFile:
        text, encoding, note = decode(data, filename)
        if not text.strip():
            raise InputError(filename, "the file is empty")
        chosen = choose_delimiter(text, mapping, delimiter)
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=chosen)
        try:
            headers = [h.strip() for h in next(reader)]
        except csv.Error as exc:
            raise InputError(f"{filename}:1", f"unreadable header row: {exc}") from None
        return cls(filename, text, encoding, note, chosen, headers, reader.line_num)

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """Each record with the physical line it starts on (quoted line breaks counted)."""
        reader = csv.reader(io.StringIO(self.text, newline=""), delimiter=self.delimiter)
        try:
            next(reader)
            end = reader.line_num
            for record in reader:
                start, end = end + 1, reader.line_num
                if not any(cell.strip() for cell in record):
                    continue
                yield start, record
        except csv.Error as exc:
            where = f"{self.filename}:{reader.line_num}"
            raise InputError(where, f"malformed CSV: {exc}") from None

    def describe(self, mapping: dict[str, str]) -> HeaderMatch:
        return match_headers(self.headers, mapping)
