"""Tables every command prints the same way: fitted to the terminal, never wrapped when piped.

In a terminal a table is fitted to its width: long values fold inside their cell, and when the
columns cannot all keep a readable width the least important ones are left out (a line says
which, and that `--json` has them all); no column is ever squeezed to nothing. Piped output is
not wrapped at all, so `grep` and `cut` see each value whole on its row. Hints that name a
command are printed on one line whatever the width, so they can be copied.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rich.console import Console
from rich.table import Table

PIPE_WIDTH = 100_000
"""Piped output: wide enough that no row is wrapped."""
MIN_WIDTH = 6
"""The narrowest a column may get in a terminal (header words fold above it)."""


@dataclass(frozen=True)
class Column:
    header: str
    drop: int = 0
    """0: always shown; otherwise left out first when space runs short (highest first)."""
    min_width: int | None = None
    """Narrowest readable width; default: the header's longest word, at least 6."""
    justify: Literal["left", "right", "center"] = "left"
    no_wrap: bool = False
    """Values that should not fold (numbers, states, dates): kept whole while the width
    allows, folded only when nothing else can give way."""

    def narrowest(self) -> int:
        if self.min_width is not None:
            return self.min_width
        return max(max((len(w) for w in self.header.split()), default=1), MIN_WIDTH)


def console(stderr: bool = False, file: Any = None, width: int | None = None) -> Console:
    """A console for command output: the terminal's width, or unwrapped when piped."""
    probe = Console(stderr=stderr, file=file, width=width)
    if probe.is_terminal or width is not None:
        return probe
    return Console(stderr=stderr, file=file, width=PIPE_WIDTH, soft_wrap=True)


def _plain(value: Any) -> str:
    """A cell's text; line breaks inside a value become spaces (one value, one row)."""
    if value is None:
        return "-"
    text = str(value)
    return " ".join(text.split()) if "\n" in text else text


def _visible(text: str) -> str:
    """The cell text without rich markup, for measuring."""
    from rich.text import Text

    return Text.from_markup(text).plain


def fit(columns: Sequence[Column], rows: Sequence[Sequence[str]],
        width: int) -> tuple[list[int], list[int]]:
    """The columns that fit in `width` (borders and padding included) and their widths.

    Whole values first; then folding columns shrink towards their narrowest width; then the
    droppable columns go; only then do no-wrap columns fold too. No width is ever below 1.
    """
    natural = [max([len(c.header), *(len(_visible(r[i])) for r in rows)])
               for i, c in enumerate(columns)]

    def floor(i: int, strict: bool) -> int:
        lowest = natural[i] if columns[i].no_wrap and strict else columns[i].narrowest()
        return max(1, min(natural[i], lowest))

    keep = list(range(len(columns)))

    def avail() -> int:
        return width - 3 * len(keep) - 1  # borders and padding of the kept columns

    while sum(floor(i, True) for i in keep) > avail():
        droppable = [i for i in keep if columns[i].drop]
        if not droppable:
            break
        keep.remove(max(droppable, key=lambda i: (columns[i].drop, i)))
    strict = sum(floor(i, True) for i in keep) <= avail()
    widths = {i: floor(i, strict) for i in keep}
    while sum(widths.values()) > avail() and max(widths.values()) > 1:
        widest = max(widths, key=lambda i: (widths[i], i))
        widths[widest] -= 1
    spare = max(0, avail() - sum(widths.values()))
    wants = {i: natural[i] - widths[i] for i in keep}
    total = sum(wants.values())
    if total <= spare:
        return keep, [natural[i] for i in keep]
    for i in keep:  # share what is left in proportion to what each column lacks
        widths[i] += wants[i] * spare // total if total else 0
    return keep, [widths[i] for i in keep]


def render(columns: Sequence[Column], rows: Iterable[Sequence[Any]], *,
           out: Console | None = None, title: str | None = None) -> list[str]:
    """Print a table; return the headers left out to make it fit (empty when none were)."""
    out = out or console()
    cells = [[_plain(v) for v in row] for row in rows]
    piped = out.width >= PIPE_WIDTH
    keep, widths = (list(range(len(columns))), [0] * len(columns)) if piped else fit(
        columns, cells, out.width)
    table = Table(title=title, title_justify="left")
    for i, w in zip(keep, widths, strict=True):
        col = columns[i]
        table.add_column(col.header, justify=col.justify, overflow="fold",
                         no_wrap=piped, width=None if piped else w)
    for row in cells:
        table.add_row(*(row[i] for i in keep))
    out.print(table)
    hidden = [columns[i].header for i in range(len(columns)) if i not in keep]
    if hidden:
        hint(f"(not shown at this width: {', '.join(hidden)}; --json has every field)", out)
    return hidden


def hint(text: str, out: Console | None = None) -> None:
    """One line, never wrapped, so a command in it can be copied as it is."""
    out = out or console()
    out.print(text, soft_wrap=True, highlight=False)


def to_text(columns: Sequence[Column], rows: Iterable[Sequence[Any]], width: int) -> str:
    """The table as a terminal of `width` columns would show it (for tests and docs)."""
    buffer = io.StringIO()
    render(columns, rows, out=Console(file=buffer, width=width, force_terminal=False,
                                      color_system=None))
    return buffer.getvalue()
