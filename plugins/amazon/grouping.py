"""Groups VIDR rows into one group per (shipping-id, transaction-type, transaction-id).

A VIDR is not guaranteed to be sorted, so rows of one shipment may be far apart. Grouping uses
an external merge sort on (shipping-id, line): rows are buffered up to `chunk_rows`, each full
buffer is sorted and spilled to a temporary run file, and the runs are merged with
`heapq.merge`. Memory is bounded by the chunk size whatever the report size; a report that fits
into one chunk (every real pending VIDR we know of) never touches the disk.
"""

from __future__ import annotations

import heapq
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from syncd_amazon.vidr import BadLine, VidrRow, split_fields

DEFAULT_CHUNK_ROWS = 50_000
_SEP = "\x1f"


@dataclass
class Group:
    """All rows of one shipment transaction, in file order, plus bad lines naming its shipment."""

    shipping_id: str
    transaction_type: str
    transaction_id: str
    rows: list[VidrRow] = field(default_factory=list)
    bad_lines: list[BadLine] = field(default_factory=list)

    @property
    def first_line(self) -> int:
        lines = [r.line for r in self.rows] + [b.line for b in self.bad_lines]
        return min(lines)


# a spill record: (shipping-id, line, kind, payload); kind 0 = row, 1 = bad line
Record = tuple[str, int, int, str]


def _record(item: VidrRow | BadLine, header: list[str]) -> Record:
    if isinstance(item, BadLine):
        payload = json.dumps([item.message, item.raw])
        return (item.shipping_id or "", item.line, 1, payload)
    text = item.text or "\t".join(item.values[c] for c in header)
    return (item.values.get("shipping-id", ""), item.line, 0, text)


def _item(rec: Record, header: list[str]) -> VidrRow | BadLine:
    sid, line, kind, payload = rec
    if kind == 1:
        message, raw = json.loads(payload)
        return BadLine(line, message, raw, sid or None)
    return VidrRow(line, dict(zip(header, split_fields(payload), strict=True)), payload)


def _write_run(records: list[Record], folder: Path) -> Path:
    records.sort()
    fd, name = tempfile.mkstemp(prefix="vidr-run-", suffix=".txt", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
        for sid, line, kind, payload in records:
            out.write(f"{sid}{_SEP}{line}{_SEP}{kind}{_SEP}{payload}\n")
    return Path(name)


def _read_run(path: Path) -> Iterator[Record]:
    with path.open(encoding="utf-8", newline="\n") as fh:
        for text in fh:
            sid, line, kind, payload = text.rstrip("\n").split(_SEP, 3)
            yield (sid, int(line), int(kind), payload)


def sorted_records(
    items: Iterable[VidrRow | BadLine],
    header: list[str],
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    spill_dir: Path | None = None,
) -> Iterator[Record]:
    """Records ordered by (shipping-id, line) using bounded memory."""
    buffer: list[Record] = []
    runs: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="syncd-vidr-", dir=spill_dir) as tmp:
        folder = Path(tmp)
        for item in items:
            buffer.append(_record(item, header))
            if len(buffer) >= chunk_rows:
                runs.append(_write_run(buffer, folder))
                buffer = []
        if not runs:
            buffer.sort()
            yield from buffer
            return
        if buffer:
            runs.append(_write_run(buffer, folder))
            buffer = []
        yield from heapq.merge(*(_read_run(p) for p in runs))


def group_rows(
    items: Iterable[VidrRow | BadLine],
    header: list[str],
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    spill_dir: Path | None = None,
) -> Iterator[Group | BadLine]:
    """Groups per shipment transaction; bad lines that name no shipment come out on their own.

    A bad line that names a shipping-id is attached to every group of that shipment, because a
    group missing one of its lines must never be uploaded.
    """
    current_sid: str | None = None
    groups: dict[tuple[str, str], Group] = {}
    orphans: list[BadLine] = []

    def flush() -> Iterator[Group | BadLine]:
        if groups:
            for group in groups.values():
                group.bad_lines.extend(orphans)
            yield from groups.values()
        else:
            yield from orphans

    for rec in sorted_records(items, header, chunk_rows=chunk_rows, spill_dir=spill_dir):
        item = _item(rec, header)
        sid = rec[0]
        if isinstance(item, BadLine) and not sid:
            yield item
            continue
        if sid != current_sid:
            yield from flush()
            current_sid, groups, orphans = sid, {}, []
        if isinstance(item, BadLine):
            orphans.append(item)
            continue
        key = (item.get("transaction-type").upper(), item.get("transaction-id"))
        group = groups.get(key)
        if group is None:
            group = groups[key] = Group(sid, key[0], key[1])
        group.rows.append(item)
    yield from flush()
